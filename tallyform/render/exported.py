"""What ``tallyform export`` did, in words: a line per file, what adopting did, and the
closing count (the command line prints them)."""

from __future__ import annotations

from tallyform.config import display_path
from tallyform.engine.adopt import Adoption
from tallyform.engine.export_files import STATUSES, ExportFile

SYMBOLS = {"new": "+", "updated": "~", "unchanged": "=", "same": "=", "kept": "!"}
Line = tuple[str, bool]  # a line, and whether it goes to stderr


def file_line(item: ExportFile, dry_run: bool) -> str:
    """'  + templates/x.yaml', with what was done to it."""
    shown = display_path(item.path)
    if item.status == "kept":
        return f"  ! {shown} differs from the org; left as it is"
    label = {
        "new": "",
        "updated": " (would be overwritten)" if dry_run else " (overwritten)",
        "unchanged": " (unchanged)",
        "same": " (the same as the org's, written in another form; left as it is)",
    }[item.status]
    return f"  {SYMBOLS[item.status]} {shown}{label}"


def adoption_lines(adoption: Adoption, dry_run: bool) -> list[Line]:
    """What adopting did (problems aside: they are reported at their places)."""
    writes = adoption.writes
    if not adoption.changes:
        return [("Every exported object already carries its tallyform key.", False)]
    if adoption.report is None:
        objects = adoption.objects
        return [
            (
                f"Would adopt {objects} object(s): write their tallyform keys ({writes} writes).",
                False,
            )
        ]
    lines: list[Line] = []
    for outcome in adoption.report.failed:
        where = f"template {outcome.scope}" if outcome.scope else "the tallyform keys"
        lines.append((f"Error: adopting {where} stopped: {outcome.error}", True))
    done = adoption.done
    lines.append(
        (f"Adopted {done} object(s): wrote their tallyform keys ({writes} writes).", False)
    )
    if adoption.report.not_done:
        lines.append(
            ("Run `tallyform export` again (or `tallyform apply`) to write the keys left.", True)
        )
    return lines


def export_summary(files: list[ExportFile], dry_run: bool) -> str:
    """'Exported 3 template(s): 1 new, 0 overwritten, 2 unchanged.'"""
    counts = {status: sum(1 for f in files if f.status == status) for status in STATUSES}
    verb = "Would export" if dry_run else "Exported"
    parts = [
        f"{counts['new']} new",
        f"{counts['updated']} overwritten",
        f"{counts['unchanged'] + counts['same']} unchanged",
    ]
    if counts["kept"]:
        parts.append(f"{counts['kept']} left as they are")
    return f"{verb} {len(files)} template(s): {', '.join(parts)}."
