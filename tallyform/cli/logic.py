"""``tallyform check``, ``tallyform test`` and ``tallyform graph``: the logic of the rules.

All three read the project's template files as ``validate`` does and hand the templates
to :mod:`tallyform.logic`; ``check``, ``graph`` and ``test`` send nothing to Tallyfy, and
``test --org NAME`` plays the scenarios as processes in that org instead
(:mod:`tallyform.engine.scenario_runs`). A file ``validate`` finds problems in is not
checked, tested or drawn: its problems are reported instead (as errors), since the logic
of a template that does not say what it means is a guess. The reports are gathered and
printed by :mod:`.logic_reports`.
"""

from __future__ import annotations

import click

from tallyform.cli.context import App, pass_app
from tallyform.cli.logic_reports import (
    emit_check,
    emit_tests,
    run_check,
    run_tests,
    run_tests_in_org,
)
from tallyform.cli.options import org_option
from tallyform.engine.selection import select_templates, unknown_names
from tallyform.errors import Failed, TallyformError
from tallyform.logic import check_template, render_mermaid

FORMAT = click.option(
    "--format",
    "output",
    type=click.Choice(["text", "github", "json"]),
    default="text",
    show_default=True,
    help="text for people; github: GitHub Actions annotations on each line; json: one document.",
)


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
    emit_check(app, output, report)
    if report.errors:
        raise Failed()


@click.command("test")
@FORMAT
@org_option(
    "Run the scenarios as real processes in this org of tallyform.yaml, archived at the "
    "end; its templates must be applied there already. Without it, offline."
)
@click.argument("names", nargs=-1, metavar="[FILE|KEY]...")
@pass_app
def test(app: App, output: str, org_name: str | None, names: tuple[str, ...]) -> None:
    """Run the scenarios the templates declare under `tests:`.

    Each scenario launches a process with its kick-off answers, lets its steps happen in
    order (completed, approved, rejected, ... with form-field values) and compares what
    it expects (steps shown or hidden, assignees, deadlines, webhooks, rules fired) with
    what happened. Offline, a simulation of Tallyfy's automations runs it, and rules
    that no scenario makes fire are listed after the summary. With --org, each scenario
    is a real process in that org (the embedded emulator, or a sandbox Tallyfy org), its
    templates as the repository declares them (apply them first); nothing is applied,
    every process launched is archived at the end, and webhooks and fired rules, which a
    process does not show, are left to the offline run.

    Each failing expectation is reported at its FILE:LINE:COLUMN with what was expected
    and what happened. Runs the scenarios of FILEs or templates by KEY, or of every
    template; exits 1 if any fails.
    """
    report = run_tests(app, names) if org_name is None else run_tests_in_org(app, org_name, names)
    emit_tests(app, output, report)
    if not report.ok:
        raise Failed()


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
        raise Failed()
    if unknown or not templates:
        raise TallyformError(unknown[0] if unknown else unknown_names([name], [])[0])
    template = templates[0]
    findings = check_template(template).findings
    dead = {f.step for f in findings if f.check == "unreachable_step" and f.step}
    click.echo(render_mermaid(template, dead), nl=False)
