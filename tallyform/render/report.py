"""What an apply did, in words: the closing line, each template that stopped, and the
changes not done (the command line prints them: the line on stdout, the rest on stderr)."""

from __future__ import annotations

from typing import Protocol

from tallyform.engine.apply import ApplyReport
from tallyform.model.kinds import Action
from tallyform.render.common import progress_line


class RequestCounts(Protocol):
    """What the closing line says of the client's work (its ClientStats)."""

    @property
    def requests(self) -> int: ...

    @property
    def retries(self) -> int: ...

    @property
    def waited(self) -> float: ...


SHOWN_NOT_DONE = 20  # changes not done listed one by one; the rest are counted


def past(counts: dict[str, int]) -> str:
    """'2 created, 1 updated' (or 'nothing')."""
    return ", ".join(f"{n} {Action(a).past}" for a, n in counts.items() if n) or "nothing"


def applied_line(report: ApplyReport, stats: RequestCounts, writes: int) -> str:
    """'Applied: 2 created (3 writes, 40 requests, 1 retried, 2.0 s waiting for the rate limit).'"""
    waited = stats.waited
    return (
        f"Applied: {past(report.counts())} ({writes} write{'s' if writes != 1 else ''}, "
        f"{stats.requests} requests"
        + (f", {stats.retries} retried" if stats.retries else "")
        + (f", {waited:.1f} s waiting for the rate limit" if waited >= 0.05 else "")
        + ")."
    )


def trouble_lines(report: ApplyReport, again: str = "tallyform apply") -> list[str]:
    """Each template that stopped, and the changes not done, with what to do about them
    (``again``: the command that finishes the job, naming the org)."""
    lines = []
    for outcome in report.failed:
        where = f"template {outcome.scope}" if outcome.scope else "the org-wide changes"
        lines.append(f"Error: {where} stopped: {outcome.error}")
    not_done = report.not_done
    if not_done:
        label = "Interrupted" if report.stopped else "Stopped"
        lines.append(f"{label}: {len(not_done)} change(s) not done:")
        lines += [f"  {progress_line(change, done=False)}" for change in not_done[:SHOWN_NOT_DONE]]
        if len(not_done) > SHOWN_NOT_DONE:
            lines.append(f"  ... and {len(not_done) - SHOWN_NOT_DONE} more")
        lines.append(f"Run `{again}` again to finish; it plans only what is left.")
    return lines
