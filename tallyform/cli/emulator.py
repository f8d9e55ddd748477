"""``tallyform emulator serve``: the Tallyfy API emulator over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tallyform.emulator import (
    DEFAULT_MEMBER_TOKEN,
    DEFAULT_ORG_ID,
    DEFAULT_TOKEN,
    EVERY_QUIRK,
    SEED_GROUPS,
    SEED_USERS,
    Quirks,
)
from tallyform.emulator.quirks import describe
from tallyform.emulator.serving import ServeSettings, served

_PEOPLE = "\n".join(
    f"  {email:<20} {first} {last} ({role}, user id {uid})"
    for uid, email, first, last, role in SEED_USERS
)
_GROUPS = ", ".join(name for name, _ in SEED_GROUPS)
_QUIRKS = "\n".join(describe(name) for name in EVERY_QUIRK)

SERVE_HELP = f"""Serve the Tallyfy API emulator at http://127.0.0.1:PORT/api.

\b
It starts with one organization ({DEFAULT_ORG_ID} unless --org says
otherwise), two tokens and these people:
{_PEOPLE}
\b
Groups: {_GROUPS}.
\b
Tokens: {DEFAULT_TOKEN} (Alice, an admin; change with --token) and
{DEFAULT_MEMBER_TOKEN} (Bob, a standard member who may not define custom
field keys or delete templates permanently).

Send `Authorization: Bearer TOKEN` and `X-Tallyfy-Client: APIClient` with every
request, as Tallyfy requires. With --state the organization is kept in that file
and survives restarts; without it, it lives in memory. Faults (--fail-rate) are
503s, 500s after the change was made, dropped connections and bursts of 429,
drawn reproducibly from --seed.

Where Tallyfy's behaviour is unconfirmed the emulator takes the likeliest answer;
--quirk NAME (repeatable) takes the pessimistic one instead, --quirk NAME=CHOICE
one answer of a quirk that has several, and --strict every one of them but those
marked * (low_rate_limit: pacing, not a reading; add it with --quirk) and -
(another reading, not a pessimistic one); --strict with --quirk takes both:

\b
{_QUIRKS}
"""


def _quirks(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    """``--quirk`` values, checked: an unknown name or choice is a usage error."""
    try:
        Quirks.named(value)
        return value
    except ValueError as error:
        known = f" (known: {', '.join(EVERY_QUIRK)})" if str(error).startswith("unknown") else ""
        raise click.BadParameter(f"{error}{known}") from None


@click.group()
def emulator() -> None:
    """A local stand-in for the Tallyfy API."""


@emulator.command(help=SERVE_HELP)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8700,
    show_default=True,
    help="0 picks a free port.",
)
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep the org in this JSON file.",
)
@click.option(
    "--org-id",
    "--org",  # its first name: kept, as `--org` takes an org's name everywhere else
    "org_id",
    default=DEFAULT_ORG_ID,
    help="The organization's 32-hex id (for a new state), as `init --org-id` takes it.",
)
@click.option("--token", default=DEFAULT_TOKEN, help="The admin's API token (for a new state).")
@click.option(
    "--request-log",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append one JSON line per request (a write's with its body, secrets masked).",
)
@click.option("--latency-ms", type=click.FloatRange(0), default=0, help="Added to every request.")
@click.option(
    "--rate-limit",
    type=click.IntRange(0),
    default=600,
    show_default=True,
    help="Requests a minute per token (Tallyfy's figure); 0 turns the limit off.",
)
@click.option(
    "--fail-rate",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Share of requests that meet a fault.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the fault stream.")
@click.option(
    "--strict",
    is_flag=True,
    help="Take every pessimistic answer but the quirks marked * or - above.",
)
@click.option(
    "--quirk",
    "quirk_names",
    metavar="NAME[=CHOICE]",
    multiple=True,
    callback=_quirks,
    help="Take one pessimistic answer (repeatable).",
)
def serve(**given: Any) -> None:
    settings = ServeSettings(**given)
    org_id = settings.org_id
    if len(org_id) != 32 or any(c not in "0123456789abcdef" for c in org_id):
        raise click.BadParameter("must be 32 lowercase hex characters", param_hint="--org-id")
    with served(settings) as server:
        emulated = server.emulator
        shown = "the one given with --token" if settings.token != DEFAULT_TOKEN else DEFAULT_TOKEN
        click.echo(f"Tallyfy emulator listening on {server.url}", err=False)
        click.echo(f"organization {emulated.org_id}, admin token {shown}; Ctrl-C stops it.")
        if emulated.quirks.on():
            click.echo(f"pessimistic answers: {', '.join(emulated.quirks.on())}")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            click.echo("stopped.")
