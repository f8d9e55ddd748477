"""``tallyform probe``: ask a live org once how its API answers the reference's open questions.

The probe itself is :mod:`tallyform.tallyfy.probe`; this command connects, runs it,
prints each answer and keeps them in ``.tallyform/probe/ORG.json`` beside tallyform.yaml,
where plan, apply and export find them (:func:`tallyform.engine.session.org_readings`).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from tallyform import __version__
from tallyform.cli.connect import connect, embedded_guard
from tallyform.cli.context import App, pass_app
from tallyform.cli.options import org_option
from tallyform.client import ClientCredentials, TallyfyError
from tallyform.engine.session import answers_path
from tallyform.errors import TallyformError
from tallyform.tallyfy.probe import (
    PLANNED_REQUESTS,
    Finding,
    Probe,
    answers_document,
)


@click.command()
@org_option("Probe this org of tallyform.yaml (default: default_org).")
@click.option("--dry-run", is_flag=True, help="Print the requests the probe would send; send none.")
@click.option(
    "--json",
    "json_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the answers as one JSON document to FILE.",
)
@pass_app
def probe(app: App, org_name: str | None, dry_run: bool, json_file: Path | None) -> None:
    """Ask a live org how its API answers what Tallyfy's documentation leaves open.

    Makes one throwaway template (named "tallyform probe ... (safe to delete)"), a tag
    and two folders, asks each open question with the smallest write that shows the
    answer, and archives and deletes what it made at the end, also after an error or
    Ctrl-C. The answers are printed, and kept in .tallyform/probe/ORG.json, which plan,
    apply and export then follow for that org. Run it once against a sandbox org before
    the first apply.
    """
    project = app.project()
    org = project.org(org_name)
    if dry_run:
        click.echo(f"tallyform probe of org '{org.name}' would send, and sends nothing now:")
        for line in PLANNED_REQUESTS:
            click.echo(f"  {line}")
        return
    client = connect(org)  # the probe sends one request at a time
    click.echo(
        f"Probing org '{org.name}' ({client.org_id}) with one throwaway template, archived "
        "at the end...",
        err=True,
    )
    with client, embedded_guard(org):
        probed = Probe(client, isinstance(client.credentials, ClientCredentials))
        try:
            findings = probed.run()
        except TallyfyError as error:
            click.echo(cleaned_up(probed), err=True)
            raise TallyformError(f"the probe stopped: {error}") from None
        except KeyboardInterrupt:
            click.echo(cleaned_up(probed), err=True)
            raise
    click.echo(cleaned_up(probed), err=True)
    document = answers_document(org.name, client.org_id, findings, __version__)
    for finding in findings:
        click.echo(describe(app, finding))
    kept = answers_path(project, org)
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    if json_file is not None:
        json_file.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    click.echo(summary(findings, kept))


def cleaned_up(probed: Probe) -> str:
    """Whether what the probe made is gone (its clean-up runs however the probe ends)."""
    if not probed.cleaned:
        return "The probe stopped before its clean-up; look for 'tallyform probe' in Tallyfy."
    if probed.left:
        return (
            f"Could not remove {', '.join(probed.left)}, which the probe made; delete "
            "them in Tallyfy (the template is named 'tallyform probe ... (safe to delete)')."
        )
    return "Removed what the probe made (its template archived, its tags and folders deleted)."


def describe(app: App, finding: Finding) -> str:
    """One answer in five lines: the question, what was sent and came back, what follows."""
    colour = {"likeliest": "green", "not settled": "white"}.get(finding.reading, "yellow")
    head = f"{app.style(finding.name, bold=True)}: {app.style(finding.reading, fg=colour)}"
    return "\n".join(
        [
            head,
            f"  asked:     {finding.question}",
            f"  sent:      {finding.sent}",
            f"  got:       {finding.got}",
            f"  tallyform: {finding.does}" if finding.quirk else "  tallyform: as by default",
            "",
        ]
    )


def summary(findings: list[Finding], kept: Path) -> str:
    other = [f.name for f in findings if f.quirk]
    unsettled = [f.name for f in findings if f.quirk is None]
    lines = [
        f"{len(findings)} questions: {len(other)} answered the pessimistic way"
        + (f" ({', '.join(other)})" if other else "")
        + f", {len(unsettled)} not settled by this org.",
        f"Answers kept in {kept}; plan, apply and export follow them for this org.",
        "If an answer above is one tallyform does not handle (its 'tallyform:' line says "
        "so), send that file to the tallyform maintainers.",
    ]
    return "\n".join(lines)
