"""What ``check`` and ``test`` found, gathered into the reports :mod:`tallyform.render.findings`
renders, and printed: findings judged by the project's severities, scenarios run offline
or, with ``test --org``, as processes in an org (:mod:`tallyform.engine.scenario_runs`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import click

from tallyform.cli import interrupt
from tallyform.cli.connect import embedded_guard, open_client
from tallyform.cli.context import App
from tallyform.config import ConfigError, OrgSettings
from tallyform.config.semantics import check_scenarios
from tallyform.engine.scenario_runs import OrgRun, play_in_org
from tallyform.engine.selection import select_templates
from tallyform.logic import (
    DEFAULT_SEVERITY,
    Failure,
    Finding,
    check_template,
    run_scenarios,
    uncovered_rules,
)
from tallyform.model import Template
from tallyform.render.findings import (
    CheckReport,
    Judged,
    ScenarioReport,
    check_lines,
    check_summary,
    render_check_github,
    render_check_json,
    render_scenarios_github,
    render_scenarios_json,
    scenario_lines,
    scenario_summary,
)
from tallyform.render.places import from_root, moved_problems, working_root

Placed = TypeVar("Placed", Failure, Finding)


def run_check(app: App, names: Sequence[str]) -> CheckReport:
    try:
        project = app.project()
    except ConfigError as error:
        return CheckReport([], unplaced=[str(error)])
    templates, problems, unknown = select_templates(project, names)
    severities = {**DEFAULT_SEVERITY, **project.checks}
    report = CheckReport([], problems=problems, unplaced=unknown)
    for template in templates:
        analysis = check_template(template)
        report.analyses.append(analysis)
        report.findings += [
            Judged(finding, severities[finding.check])
            for finding in analysis.findings
            if severities[finding.check] != "off"
        ]
    return report


def _testable(
    app: App, names: Sequence[str], org: OrgSettings | None = None
) -> tuple[list[Template], ScenarioReport]:
    """The templates whose scenarios can run, and a report holding why others cannot."""
    templates, problems, unknown = select_templates(app.project(), names, org)
    report = ScenarioReport([], problems=problems, unplaced=unknown)
    kept = []
    for template in templates:
        stale = sorted(set(check_scenarios(template)))
        report.problems += stale  # its scenarios name what the template does not have
        if not stale:
            kept.append(template)
    return kept, report


def run_tests(app: App, names: Sequence[str]) -> ScenarioReport:
    """Every scenario, offline; and the rules no scenario makes fire."""
    try:
        templates, report = _testable(app, names)
    except ConfigError as error:
        return ScenarioReport([], unplaced=[str(error)])
    for template in templates:
        outcomes = run_scenarios(template)
        report.outcomes += outcomes
        if template.tests:
            report.uncovered += [(template.key, r) for r in uncovered_rules(template, outcomes)]
    return report


def run_tests_in_org(app: App, org_name: str, names: Sequence[str]) -> ScenarioReport:
    """Every scenario as a process in the org; what it launched archived at the end."""
    try:
        org = app.project().org(org_name)
        templates, report = _testable(app, names, org)
    except ConfigError as error:
        return ScenarioReport([], unplaced=[str(error)])
    interrupt.last_words(
        f"Interrupted: processes named 'tallyform test ...' that this run launched in org "
        f"'{org.name}' may be left there; archive them in Tallyfy."
    )
    found = OrgRun()
    try:
        with embedded_guard(org), open_client(org) as client:
            play_in_org(client, org.name, templates, not org.is_emulated, found)
    except KeyboardInterrupt:  # what was launched was archived on the way out: say so
        interrupt.last_words(None)
        _note(org, found)
        for run_id in found.unarchived:
            click.echo(f"process {run_id} could not be archived; archive it in Tallyfy", err=True)
        raise
    finally:
        interrupt.last_words(None)
    report.outcomes += found.outcomes
    report.problems += found.problems
    report.unplaced += found.unplaced + [
        f"process {run_id} that this test launched could not be archived; archive it in Tallyfy"
        for run_id in found.unarchived
    ]
    _note(org, found)
    return report


def _note(org: OrgSettings, found: OrgRun) -> None:
    archived = len(found.launched) - len(found.unarchived)
    if found.launched:
        click.echo(
            f"Archived {archived} of {len(found.launched)} processes launched in org '{org.name}'.",
            err=True,
        )
    if found.unseen:
        click.echo(
            f"Note: {found.unseen} scenario(s) also expect webhooks or fired rules, which a "
            "process in an org does not show; `tallyform test` without --org checks those.",
            err=True,
        )


def _print_lines(app: App, lines: list[tuple[str, str, str]]) -> None:
    """`FILE:LINE:COLUMN: severity: message` on stderr, as validate prints problems; a
    problem with no place is `Error: message`."""
    colors = {"error": "red", "warning": "yellow"}
    for where, severity, message in lines:
        if not where:
            click.echo(f"Error: {message}", err=True)
            continue
        place = app.style(where.rstrip(": "), bold=True)
        click.echo(f"{place}: {app.style(severity, fg=colors[severity])}: {message}", err=True)


def _moved(item: Placed, root: Path | None) -> Placed:
    """A finding or failure with its file relative to the repository's root (GitHub's view)."""
    if item.location is None:
        return item
    return dataclasses.replace(item, location=from_root(item.location, root))


def emit_check(app: App, output: str, report: CheckReport) -> None:
    if output == "json":
        click.echo(render_check_json(report), nl=False)
    elif output == "github":
        root = working_root()
        findings = [
            dataclasses.replace(j, finding=_moved(j.finding, root)) for j in report.findings
        ]
        problems = moved_problems(report.problems, root)
        moved = dataclasses.replace(report, findings=findings, problems=problems)
        click.echo(render_check_github(moved), nl=False)
        click.echo(check_summary(report), err=report.errors > 0)
    else:
        _print_lines(app, check_lines(report))
        click.echo(check_summary(report))


def emit_tests(app: App, output: str, report: ScenarioReport) -> None:
    if output == "json":
        click.echo(render_scenarios_json(report), nl=False)
    elif output == "github":
        root = working_root()
        outcomes = [
            dataclasses.replace(o, failures=[_moved(f, root) for f in o.failures])
            for o in report.outcomes
        ]
        problems = moved_problems(report.problems, root)
        moved = dataclasses.replace(report, outcomes=outcomes, problems=problems)
        click.echo(render_scenarios_github(moved), nl=False)
        click.echo(scenario_summary(report), err=not report.ok)
    else:
        for outcome in report.outcomes:
            mark = app.style("ok  ", fg="green") if outcome.passed else app.style("FAIL", fg="red")
            click.echo(f"{mark} {outcome.template.key}: {outcome.scenario.name}")
        _print_lines(app, scenario_lines(report))
        click.echo(scenario_summary(report))
