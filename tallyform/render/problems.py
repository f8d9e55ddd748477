"""``validate``'s problems for machines: GitHub Actions annotations and one JSON document.

GitHub reads a line ``::error file=PATH,line=L,col=C::message`` on a step's output as an
annotation on that line of the pull request's diff. Values are escaped as GitHub's own
toolkit does (``@actions/core``, ``command.ts``): in the message ``%``, CR and LF; in a
property also ``:`` and ``,``, which would otherwise end it. Paths must be relative to the
repository's root; the caller gives problems whose files already are.

The JSON document (``format_version`` 1) lists every problem with its file, line, column,
severity and message, and a summary. A problem that has no place in a file (no
``tallyform.yaml`` found at all) has ``null`` for file, line and column.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from tallyform.config import Problem

FORMAT_VERSION = 1
Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Report:
    """What one ``validate`` run found: problems in files, problems with no place, and how
    many template files it checked."""

    problems: list[Problem]
    unplaced: list[str]  # messages about the project as a whole (no tallyform.yaml found)
    templates: int

    @property
    def count(self) -> int:
        return len(self.problems) + len(self.unplaced)

    @property
    def files(self) -> int:
        return len({p.location.file for p in self.problems})


def escape_data(text: str) -> str:
    """A workflow command's message, escaped as @actions/core escapes it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value (file=...), escaped as @actions/core escapes it."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(problem: Problem, severity: Severity = "error") -> str:
    """One problem as a GitHub Actions annotation on its file, line and column."""
    where = problem.location
    properties = ",".join(
        [f"file={escape_property(where.file)}", f"line={where.line}", f"col={where.column}"]
    )
    return f"::{severity} {properties}::{escape_data(problem.message)}"


def unplaced_annotation(message: str, severity: Severity = "error") -> str:
    """A problem with no place in a file, as an annotation on the run itself."""
    return f"::{severity} title={escape_property('tallyform validate')}::{escape_data(message)}"


def render_github(report: Report) -> str:
    """Every problem as an annotation, one line each (nothing when there is none)."""
    lines = [unplaced_annotation(m) for m in report.unplaced]
    lines += [annotation(p) for p in report.problems]
    return "".join(line + "\n" for line in lines)


def _entry(problem: Problem) -> dict[str, Any]:
    where = problem.location
    return {
        "file": where.file,
        "line": where.line,
        "column": where.column,
        "severity": "error",
        "message": problem.message,
    }


def _unplaced_entry(message: str) -> dict[str, Any]:
    return {"file": None, "line": None, "column": None, "severity": "error", "message": message}


def problems_document(report: Report) -> dict[str, Any]:
    """The report as JSON-able data: ``valid``, every problem, and a summary."""
    entries = [_unplaced_entry(m) for m in report.unplaced] + [_entry(p) for p in report.problems]
    return {
        "format_version": FORMAT_VERSION,
        "valid": report.count == 0,
        "problems": entries,
        "summary": {
            "errors": report.count,
            "warnings": 0,
            "files_with_problems": report.files,
            "templates": report.templates,
        },
    }


def render_problems_json(report: Report) -> str:
    return json.dumps(problems_document(report), indent=2, ensure_ascii=False) + "\n"
