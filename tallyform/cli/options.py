"""Options that several commands share, written once so that they read the same everywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from tallyform.parallel import DEFAULT_WORKERS

F = TypeVar("F", bound=Callable[..., Any])


def org_option(help: str) -> Callable[[F], F]:
    """``--org NAME``: which org of tallyform.yaml (``help`` says what for)."""
    return click.option("--org", "org_name", metavar="NAME", help=help)


def only_option(function: F) -> F:
    """``--only KEY`` (repeatable, globs allowed)."""
    return click.option(
        "--only",
        multiple=True,
        metavar="KEY",
        help="Only templates whose key matches KEY, a glob such as 'hr-*'. Repeat for more: "
        "--only a --only 'b*'.",
    )(function)


def parallelism_option(help: str) -> Callable[[F], F]:
    """``--parallelism N``: requests at once (``help`` says what runs in parallel), which
    the command hands to the engine (the client runs nothing in parallel by itself)."""
    return click.option(
        "--parallelism",
        type=click.IntRange(1, 64),
        default=DEFAULT_WORKERS,
        show_default=True,
        help=help,
    )


PLAN_FORMATS = ("text", "json", "markdown")


def plan_format_option(function: F) -> F:
    """``--format text|json|markdown`` for a plan."""
    return click.option(
        "--format",
        "output",
        type=click.Choice(PLAN_FORMATS),
        default="text",
        show_default=True,
        help="text for people, json for programs (format_version 1), markdown for pull requests.",
    )(function)
