"""What ``check`` and ``test`` found, for people, for GitHub and for programs.

The same three formats as ``validate`` (:mod:`.problems`): text lines
``FILE:LINE:COLUMN: severity: message``; GitHub Actions annotations (``::error`` or
``::warning``, paths from the repository's root, titled with the check or the scenario);
and one JSON document (``format_version`` 1). A check's finding ends with its check's
name and how it was reached (``[inert_rule; exhaustive: 8 paths]``); a scenario's
failure says what was expected and what happened.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tallyform.config import Location, Problem
from tallyform.logic import Analysis, Failure, Finding, Outcome
from tallyform.render.problems import FORMAT_VERSION, escape_data, escape_property


@dataclass(frozen=True)
class Judged:
    """A finding with the severity the project gives its check."""

    finding: Finding
    severity: str  # "error" or "warning"

    @property
    def text(self) -> str:
        return f"{self.finding.message} [{self.finding.check}; {self.finding.coverage}]"


@dataclass
class CheckReport:
    """What one ``check`` run found: findings, and the problems that kept files from being checked."""

    findings: list[Judged]
    problems: list[Problem] = field(
        default_factory=list
    )  # validate's: those files were not checked
    unplaced: list[str] = field(default_factory=list)
    analyses: list[Analysis] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return (
            sum(j.severity == "error" for j in self.findings)
            + len(self.problems)
            + len(self.unplaced)
        )

    @property
    def warnings(self) -> int:
        return sum(j.severity == "warning" for j in self.findings)

    @property
    def paths(self) -> int:
        return sum(a.paths for a in self.analyses)

    @property
    def sampled(self) -> list[str]:
        return [a.template.key for a in self.analyses if a.sampled]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def check_summary(report: CheckReport) -> str:
    templates = _plural(len(report.analyses), "template")
    how = (
        f"sampled in {', '.join(report.sampled)}, exhaustive elsewhere"
        if report.sampled
        else "exhaustive"
    )
    return (
        f"{templates} checked ({_plural(report.paths, 'path')}, {how}): "
        f"{_plural(report.errors, 'error')}, {_plural(report.warnings, 'warning')}."
    )


def _where(location: Location | None) -> str:
    return f"{location}: " if location is not None else ""


def check_lines(report: CheckReport) -> list[tuple[str, str, str]]:
    """(where, severity, message) of every finding and problem, in file order."""
    lines = [("", "error", message) for message in report.unplaced]
    lines += [(_where(p.location), "error", p.message) for p in report.problems]
    ordered = sorted(
        report.findings, key=lambda j: _sort_key(j.finding.location, j.finding.template)
    )
    lines += [(_where(j.finding.location), j.severity, j.text) for j in ordered]
    return lines


def _sort_key(location: Location | None, template: str) -> tuple[str, int, int, str]:
    if location is None:
        return ("", 0, 0, template)
    return (location.file, location.line, location.column, template)


def _annotation(severity: str, location: Location | None, title: str, message: str) -> str:
    properties = []
    if location is not None:
        properties += [
            f"file={escape_property(location.file)}",
            f"line={location.line}",
            f"col={location.column}",
        ]
    properties.append(f"title={escape_property(title)}")
    return f"::{severity} {','.join(properties)}::{escape_data(message)}"


def render_check_github(report: CheckReport) -> str:
    lines = [_annotation("error", None, "tallyform check", m) for m in report.unplaced]
    lines += [
        _annotation("error", p.location, "tallyform validate", p.message) for p in report.problems
    ]
    lines += [
        _annotation(j.severity, j.finding.location, f"tallyform check: {j.finding.check}", j.text)
        for j in report.findings
    ]
    return "".join(line + "\n" for line in lines)


def _place(location: Location | None) -> dict[str, Any]:
    if location is None:
        return {"file": None, "line": None, "column": None}
    return {"file": location.file, "line": location.line, "column": location.column}


def check_document(report: CheckReport) -> dict[str, Any]:
    findings = [
        {
            **_place(j.finding.location),
            "severity": j.severity,
            "check": j.finding.check,
            "template": j.finding.template,
            "step": j.finding.step,
            "rule": j.finding.rule,
            "message": j.finding.message,
            "coverage": {
                "kind": "structural"
                if j.finding.coverage.structural
                else "sampled"
                if j.finding.coverage.sampled
                else "exhaustive",
                "paths": j.finding.coverage.walked,
                "of": j.finding.coverage.total,
            },
        }
        for j in report.findings
    ]
    problems = [{**_place(None), "severity": "error", "message": m} for m in report.unplaced] + [
        {**_place(p.location), "severity": "error", "message": p.message} for p in report.problems
    ]
    return {
        "format_version": FORMAT_VERSION,
        "passed": report.errors == 0,
        "findings": findings,
        "problems": problems,
        "templates": [
            {"key": a.template.key, "paths": a.paths, "sampled": a.sampled} for a in report.analyses
        ],
        "summary": {
            "errors": report.errors,
            "warnings": report.warnings,
            "templates": len(report.analyses),
            "paths": report.paths,
        },
    }


def render_check_json(report: CheckReport) -> str:
    return json.dumps(check_document(report), indent=2, ensure_ascii=False) + "\n"


# -- tallyform test -----------------------------------------------------------------


@dataclass
class ScenarioReport:
    """What one ``test`` run found."""

    outcomes: list[Outcome]
    problems: list[Problem] = field(default_factory=list)
    unplaced: list[str] = field(default_factory=list)
    uncovered: list[tuple[str, str]] = field(default_factory=list)  # (template, rule name)

    @property
    def failures(self) -> list[Failure]:
        return [f for o in self.outcomes for f in o.failures]

    @property
    def failed(self) -> int:
        return sum(not o.passed for o in self.outcomes)

    @property
    def ok(self) -> bool:
        return not self.failures and not self.problems and not self.unplaced


def failure_text(failure: Failure) -> str:
    return (
        f"test '{failure.scenario}': {failure.message}: expected {failure.expected}, "
        f"got {failure.actual}"
    )


def scenario_lines(report: ScenarioReport) -> list[tuple[str, str, str]]:
    lines = [("", "error", message) for message in report.unplaced]
    lines += [(_where(p.location), "error", p.message) for p in report.problems]
    lines += [(_where(f.location), "error", failure_text(f)) for f in report.failures]
    return lines


def scenario_summary(report: ScenarioReport) -> str:
    templates = len({o.template.key for o in report.outcomes})
    passed = len(report.outcomes) - report.failed
    line = (
        f"{_plural(len(report.outcomes), 'scenario')} in {_plural(templates, 'template')}: "
        f"{passed} passed, {report.failed} failed."
    )
    if report.uncovered:
        names = ", ".join(f"{key}: '{rule}'" for key, rule in report.uncovered)
        line += f"\n{_plural(len(report.uncovered), 'rule')} fired in no scenario ({names})."
    return line


def render_scenarios_github(report: ScenarioReport) -> str:
    lines = [_annotation("error", None, "tallyform test", m) for m in report.unplaced]
    lines += [
        _annotation("error", p.location, "tallyform validate", p.message) for p in report.problems
    ]
    lines += [
        _annotation("error", f.location, f"tallyform test: {f.scenario}", failure_text(f))
        for f in report.failures
    ]
    return "".join(line + "\n" for line in lines)


def scenario_document(report: ScenarioReport) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "passed": report.ok,
        "scenarios": [
            {
                "template": o.template.key,
                "name": o.scenario.name,
                **_place(o.scenario.origin.locate("name") if o.scenario.origin else None),
                "passed": o.passed,
                "fired": o.fired,
                "failures": [
                    {
                        **_place(f.location),
                        "message": f.message,
                        "expected": f.expected,
                        "actual": f.actual,
                    }
                    for f in o.failures
                ],
            }
            for o in report.outcomes
        ],
        "problems": [{**_place(None), "message": m} for m in report.unplaced]
        + [{**_place(p.location), "message": p.message} for p in report.problems],
        "uncovered_rules": [{"template": t, "rule": r} for t, r in report.uncovered],
        "summary": {
            "scenarios": len(report.outcomes),
            "passed": len(report.outcomes) - report.failed,
            "failed": report.failed,
        },
    }


def render_scenarios_json(report: ScenarioReport) -> str:
    return json.dumps(scenario_document(report), indent=2, ensure_ascii=False) + "\n"
