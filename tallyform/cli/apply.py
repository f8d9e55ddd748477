"""``tallyform apply``: carry out a plan, safely, and report what was and was not done."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tallyform.cli.app import App, pass_app
from tallyform.cli.plan import build_plan, styled
from tallyform.client import TallyfyError
from tallyform.engine.apply import KeySetupRefused, apply_changes
from tallyform.engine.changes import Plan
from tallyform.engine.planfile import PlanFileError, load_plan
from tallyform.render import plan_document, render_text


def _stale(saved: dict[str, object], fresh: Plan) -> list[str]:
    """Why a saved plan no longer fits the org or the repository (empty: it still fits)."""
    reasons = []
    snapshots = saved.get("snapshots")
    assert isinstance(snapshots, dict)
    for key, seen in snapshots.items():
        now = fresh.snapshots.get(key, {"id": None})
        if seen.get("fingerprint") != now.get("fingerprint") or seen.get("id") != now.get("id"):
            reasons.append(f"template {key} changed in the org since the plan was made")
    for key in fresh.snapshots:
        if key not in snapshots:
            reasons.append(
                f"template {key} is new in the org or the repository since the plan was made"
            )
    document = saved.get("plan")
    assert isinstance(document, dict)
    if not reasons and document.get("changes") != plan_document(fresh)["changes"]:
        reasons.append("the repository changed since the plan was made")
    return reasons


def _safety(plan: Plan, managed: int, share: float, allow_delete: bool, force: bool) -> None:
    deleted = [c.template for c in plan.changes if c.kind == "template" and c.action == "delete"]
    if deleted and not allow_delete:
        raise click.ClickException(
            f"the plan archives {len(deleted)} template(s) ({', '.join(deleted)}); nothing was changed. "
            "Run again with --allow-delete if that is intended."
        )
    damaged = set(deleted) | {
        c.template for c in plan.changes if c.action == "delete" and c.kind != "template"
    }
    if managed and not force and len(damaged) / managed > share:
        raise click.ClickException(
            f"the plan deletes or removes parts of {len(damaged)} of {managed} managed templates, more than "
            f"the safety share of {share:.0%}; nothing was changed. Check the plan, then use --force."
        )


@click.command()
@click.argument(
    "planfile", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--org",
    "org_name",
    metavar="NAME",
    help="Apply to this org of tallyform.yaml (default: default_org).",
)
@click.option(
    "--yes", is_flag=True, help="Do not ask for confirmation (needed without a terminal)."
)
@click.option(
    "--allow-delete", is_flag=True, help="Allow archiving templates removed from the repository."
)
@click.option(
    "--force",
    is_flag=True,
    help="Apply even if the plan touches more than the safety share of templates.",
)
@click.option(
    "--only", multiple=True, metavar="KEY", help="Only templates whose key matches (globs allowed)."
)
@click.option("--parallelism", type=click.IntRange(1, 64), default=8, show_default=True)
@pass_app
def apply(
    app: App,
    planfile: Path | None,
    org_name: str | None,
    yes: bool,
    allow_delete: bool,
    force: bool,
    only: tuple[str, ...],
    parallelism: int,
) -> None:
    """Make the live org match the repository.

    Without PLANFILE it plans, shows the plan and asks before changing anything. With a
    PLANFILE saved by `plan --out`, it checks that nothing changed since and applies
    exactly that plan, or refuses and changes nothing.
    """
    saved = None
    if planfile is not None:
        try:
            saved = load_plan(planfile)
        except PlanFileError as error:
            raise click.ClickException(str(error)) from None
        document = saved["plan"]
        org_name = org_name or document.get("org")
    try:
        result, client = build_plan(app, org_name, only, parallelism)
        plan = result.plan
        assert plan is not None and result.org is not None
    except TallyfyError as error:
        raise click.ClickException(str(error)) from None
    with client:
        if saved is not None:
            if saved["plan"].get("org_id") != client.org_id:
                raise click.ClickException(
                    f"{planfile} was made for another org; nothing was changed"
                )
            reasons = _stale(saved, plan)
            if reasons:
                raise click.ClickException(
                    "the saved plan is stale, nothing was changed: "
                    + "; ".join(reasons)
                    + ". Make a new plan."
                )
        if plan.empty:
            click.echo("No changes. The org matches the repository.")
            return
        project = app.project()
        managed = sum(1 for s in plan.snapshots.values() if s.get("id"))
        _safety(plan, managed, project.max_delete_share, allow_delete, force)
        if saved is None:
            click.echo(render_text(plan, styled(app)), nl=False)
            if not yes:
                if not sys.stdin.isatty():
                    raise click.ClickException(
                        "apply needs confirmation: run it in a terminal, or pass --yes"
                    )
                if (
                    click.prompt(
                        "Apply these changes? Type 'yes' to go on", default="", show_default=False
                    )
                    != "yes"
                ):
                    raise click.ClickException("not applied; nothing was changed")
        quiet = not sys.stderr.isatty()

        def progress(line: str) -> None:
            if not quiet:
                click.echo(f"  {line}", err=True)

        try:
            outcomes = apply_changes(client, result.org, result.states, plan.changes, progress)
        except KeySetupRefused as refusal:
            raise click.ClickException(str(refusal)) from None
        except TallyfyError as error:
            raise click.ClickException(str(error)) from None
        failed = [o for o in outcomes if o.error]
        writes = sum(o.done for o in outcomes)
        click.echo(
            f"Applied: {writes} actions in {len(outcomes) - len(failed)} template(s); "
            f"{client.stats.requests} requests, {client.stats.writes} writes"
            + (
                f", {client.stats.waited:.1f} s waiting for the rate limit."
                if client.stats.waited >= 0.05
                else "."
            )
        )
        for outcome in failed:
            click.echo(
                f"Error: template {outcome.template} stopped after {outcome.done} step(s): {outcome.error}",
                err=True,
            )
        if failed:
            click.echo(
                "Run `tallyform plan` to see what is left; `tallyform apply` again finishes it.",
                err=True,
            )
            raise SystemExit(1)
