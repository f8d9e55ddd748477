"""``tallyform check``, ``tallyform test`` and ``tallyform graph``: the logic of the rules, offline.

All three read the project's template files as ``validate`` does and hand the templates
to :mod:`tallyform.logic`; nothing is sent to Tallyfy. A file ``validate`` finds
problems in is not checked, tested or drawn: its problems are reported instead (as
errors), since the logic of a template that does not say what it means is a guess.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

import click

from tallyform.cli.app import App, pass_app
from tallyform.cli.validate import from_root, moved_problems, working_root
from tallyform.config import ConfigError, Location, Problem, Project, load_templates
from tallyform.config.checks import check_scenarios
from tallyform.logic import (
    DEFAULT_SEVERITY,
    check_template,
    render_mermaid,
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

FORMAT = click.option(
    "--format",
    "output",
    type=click.Choice(["text", "github", "json"]),
    default="text",
    show_default=True,
    help="text for people; github: GitHub Actions annotations on each line; json: one document.",
)


def _real(path: str) -> str:
    return os.path.realpath(path)


def select_templates(
    project: Project, wanted: Sequence[str]
) -> tuple[list[Template], list[Problem], list[str]]:
    """The project's valid templates named by ``wanted`` (files or keys; all when empty),
    the problems of the files they come from, and the names that match nothing."""
    templates, problems = load_templates(project)
    if not wanted:
        return templates, problems, []
    by_file = {_real(t.origin.locate().file): t for t in templates if t.origin is not None}
    chosen: dict[str, Template] = {}
    files: set[str] = set()
    unknown: list[str] = []
    for name in wanted:
        path = _real(name)
        if Path(name).is_file():
            files.add(path)
            if path in by_file:
                chosen[by_file[path].key] = by_file[path]
            continue
        matches = [t for t in templates if t.key == name]
        if matches:
            chosen.update((t.key, t) for t in matches)
        else:
            unknown.append(name)
    keys = set(chosen)
    kept = [
        p
        for p in problems
        if _real(p.location.file) in files
        or any(
            t.origin and _real(t.origin.locate().file) == _real(p.location.file)
            for t in chosen.values()
        )
    ]
    return [t for t in templates if t.key in keys], kept, unknown


def _unknown(names: list[str]) -> list[str]:
    return [
        f"no template file or key '{name}' (a file that validate finds problems in has no key yet)"
        for name in names
    ]


def _severities(project: Project) -> dict[str, str]:
    return {**DEFAULT_SEVERITY, **project.checks}


def _moved(location: Location | None, root: Path | None) -> Location | None:
    return None if location is None else from_root(location, root)


def _print_lines(app: App, lines: list[tuple[str, str, str]]) -> None:
    """`FILE:LINE:COLUMN: severity: message` on stderr, as validate prints problems; a
    problem with no place is `Error: message`."""
    colors = {"error": "red", "warning": "yellow"}
    for where, severity, message in lines:
        if not where:
            click.echo(f"Error: {message}", err=True)
            continue
        place = app.style(where.rstrip(": "), bold=True)
        label = app.style(severity, fg=colors[severity])
        click.echo(f"{place}: {label}: {message}", err=True)


def run_check(app: App, names: Sequence[str]) -> CheckReport:
    try:
        project = app.project()
    except ConfigError as error:
        return CheckReport([], unplaced=[str(error)])
    templates, problems, unknown = select_templates(project, names)
    severities = _severities(project)
    report = CheckReport([], problems=problems, unplaced=_unknown(unknown))
    for template in templates:
        analysis = check_template(template)
        report.analyses.append(analysis)
        report.findings += [
            Judged(finding, severities[finding.check])
            for finding in analysis.findings
            if severities[finding.check] != "off"
        ]
    return report


@click.command()
@FORMAT
@click.argument("names", nargs=-1, metavar="[FILE|KEY]...")
@pass_app
def check(app: App, output: str, names: tuple[str, ...]) -> None:
    """Check the logic of the templates' rules, offline.

    Walks every combination of the answers the rules tell apart (kick-off fields, form
    fields, step outcomes), simulating Tallyfy's automations, and reports: unreachable
    steps, rules that never fire or change nothing, rules that fight over a step, visible
    steps nobody is assigned to, processes that get stuck, references to nothing,
    deadlines counting from a step that may not happen, condition values no option has,
    conditions that are always true, ignored start dates, empty rules and rules nothing
    evaluates. Each finding is at its FILE:LINE:COLUMN and says whether every path was
    walked (exhaustive) or a sample of them (sampled), and how many.

    Checks FILEs or templates by KEY, or every template. Findings are errors or warnings
    as `checks:` in tallyform.yaml says (the README lists the defaults); exits 1 if
    there is any error.
    """
    report = run_check(app, names)
    if output == "json":
        click.echo(render_check_json(report), nl=False)
    elif output == "github":
        root = working_root()
        moved = dataclasses.replace(
            report,
            findings=[
                dataclasses.replace(
                    j,
                    finding=dataclasses.replace(
                        j.finding, location=_moved(j.finding.location, root)
                    ),
                )
                for j in report.findings
            ],
            problems=moved_problems(report.problems, root),
        )
        click.echo(render_check_github(moved), nl=False)
        click.echo(check_summary(report), err=report.errors > 0)
    else:
        _print_lines(app, check_lines(report))
        click.echo(check_summary(report))
    if report.errors:
        raise SystemExit(1)


def run_tests(app: App, names: Sequence[str]) -> ScenarioReport:
    try:
        project = app.project()
    except ConfigError as error:
        return ScenarioReport([], unplaced=[str(error)])
    templates, problems, unknown = select_templates(project, names)
    report = ScenarioReport([], problems=problems, unplaced=_unknown(unknown))
    for template in templates:
        stale = sorted(set(check_scenarios(template)))
        if stale:
            report.problems += stale  # its scenarios name what the template does not have
            continue
        outcomes = run_scenarios(template)
        report.outcomes += outcomes
        if template.tests:
            report.uncovered += [
                (template.key, rule) for rule in uncovered_rules(template, outcomes)
            ]
    return report


@click.command("test")
@FORMAT
@click.argument("names", nargs=-1, metavar="[FILE|KEY]...")
@pass_app
def test(app: App, output: str, names: tuple[str, ...]) -> None:
    """Run the scenarios the templates declare under `tests:`, offline.

    Each scenario launches a process with its kick-off answers, lets its steps happen in
    order (completed, approved, rejected, ... with form-field values) through a
    simulation of Tallyfy's automations, and compares what it expects (steps shown or
    hidden, assignees, deadlines, webhooks, rules fired) with what happened. Each failing
    expectation is reported at its FILE:LINE:COLUMN with what was expected and what
    happened. Rules that no scenario makes fire are listed after the summary.

    Runs the scenarios of FILEs or templates by KEY, or of every template; exits 1 if
    any fails.
    """
    report = run_tests(app, names)
    if output == "json":
        click.echo(render_scenarios_json(report), nl=False)
    elif output == "github":
        root = working_root()
        moved = dataclasses.replace(
            report,
            outcomes=[
                dataclasses.replace(
                    o,
                    failures=[
                        dataclasses.replace(f, location=_moved(f.location, root))
                        for f in o.failures
                    ],
                )
                for o in report.outcomes
            ],
            problems=moved_problems(report.problems, root),
        )
        click.echo(render_scenarios_github(moved), nl=False)
        click.echo(scenario_summary(report), err=not report.ok)
    else:
        for outcome in report.outcomes:
            mark = app.style("ok  ", fg="green") if outcome.passed else app.style("FAIL", fg="red")
            click.echo(f"{mark} {outcome.template.key}: {outcome.scenario.name}")
        _print_lines(app, scenario_lines(report))
        click.echo(scenario_summary(report))
    if not report.ok:
        raise SystemExit(1)


@click.command()
@click.argument("name", metavar="KEY|FILE")
@pass_app
def graph(app: App, name: str) -> None:
    """Print a template's flow as a Mermaid flowchart.

    Steps in order from the launch (dashed: starts hidden, because a rule shows it; red:
    `check` finds it unreachable), and one arrow per rule action from what triggers the
    rule to the step it acts on: solid shows, dotted hides, thick assigns, sets a
    deadline or reopens; webhooks end in a node of their own. Paste it into a Markdown
    file between ```mermaid fences, or into https://mermaid.live.
    """
    templates, problems, unknown = select_templates(app.project(), [name])
    if problems:
        app.report(problems)
        raise SystemExit(1)
    if unknown or not templates:
        raise click.ClickException(_unknown([name])[0])
    template = templates[0]
    dead = {
        f.step
        for f in check_template(template).findings
        if f.check == "unreachable_step" and f.step
    }
    click.echo(render_mermaid(template, dead), nl=False)
