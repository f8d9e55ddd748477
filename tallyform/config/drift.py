"""Which templates were changed in Tallyfy after their file's last commit: drift.

A plan shows what would make the org match the repository; it cannot tell by itself
whether a difference comes from an edit in the repository or from an edit made in the
Tallyfy UI, which apply would undo. The simple test used here: a template whose live
``last_updated`` is later than the last commit of its file was changed in Tallyfy since
the repository last said anything about it, so its changes are marked as drift.

An apply also moves ``last_updated``, after the commit it applied; a plan right after
shows no change for that template, so nothing is marked. A file with uncommitted edits
counts as written now (never drift). Times within :data:`SLACK` of each other are not
compared (commit times count whole seconds, and clocks differ). Without git, or outside a repository, nothing is
marked. Reading the times costs one ``git log`` over the templates folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tallyform.config.changed import GitError, run_git
from tallyform.stamps import parse_time

# Commit times count whole seconds and clocks differ: an edit in Tallyfy counts as later
# than a commit only by more than this.
SLACK = timedelta(seconds=60)


@dataclass(frozen=True)
class Drift:
    """A template changed in Tallyfy (``live``) after its file's last commit (``committed``)."""

    live: datetime
    committed: datetime

    def note(self) -> str:
        return (
            f"changed in Tallyfy at {_shown(self.live)}, after its file's last commit "
            f"({_shown(self.committed)}): these changes may undo edits made there"
        )


def _shown(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _git(root: Path, *args: str) -> str | None:
    """Git's answer, or None where git is missing, the folder is not a repository or the
    command fails: drift is then simply not marked."""
    try:
        return run_git(root, *args)
    except GitError:
        return None


def commit_times(folder: Path, files: list[Path]) -> dict[Path, datetime]:
    """The last commit time of each of ``files`` (under ``folder``) that git knows and that
    has no uncommitted edits; files git cannot date are left out."""
    top = _git(folder, "rev-parse", "--show-toplevel")
    log = _git(folder, "log", "--format=@%ct", "--name-only", "--no-renames", "--", ".")
    dirty = _git(folder, "status", "--porcelain", "--untracked-files=all", "--", ".")
    if top is None or log is None or dirty is None:
        return {}
    base = Path(top.strip())
    wanted = {path.resolve() for path in files}
    edited = {(base / line[3:].strip().strip('"')).resolve() for line in dirty.splitlines()}
    found: dict[Path, datetime] = {}
    moment: datetime | None = None
    for line in log.splitlines():
        if line.startswith("@"):
            moment = datetime.fromtimestamp(int(line[1:]), timezone.utc)
        elif line and moment is not None:
            path = (base / line).resolve()
            if path in wanted and path not in found and path not in edited:
                found[path] = moment
                if len(found) == len(wanted):
                    break
    return found


def drifted(folder: Path, live_times: dict[str, Any], files: dict[str, Path]) -> dict[str, Drift]:
    """Of the templates (key -> its live ``last_updated``, key -> its file), those changed
    in Tallyfy after their file's last commit."""
    keys = [key for key in live_times if key in files]
    if not keys:
        return {}
    committed = commit_times(folder, [files[key] for key in keys])
    found = {}
    for key in keys:
        live = parse_time(live_times[key])
        last = committed.get(files[key].resolve())
        if live is not None and last is not None and live > last + SLACK:
            found[key] = Drift(live, last)
    return found
