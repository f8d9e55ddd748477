"""Saved plans: what ``plan --out`` writes and ``apply PLANFILE`` reads.

A saved plan holds the changes and, for every live template the plan looked at, what it
saw (id, last update, a digest of the whole template); for templates to be created, that
none existed. It never holds a token: the client keeps credentials to itself.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from tallyform import __version__
from tallyform.engine.changes import Plan
from tallyform.render.json import plan_document

PLANFILE_VERSION = 1


class PlanFileError(Exception):
    """The file is not a saved plan tallyform can read."""


def save_plan(plan: Plan, path: Path) -> None:
    document = {
        "planfile_version": PLANFILE_VERSION,
        "tallyform_version": __version__,
        "plan": plan_document(plan),
        "snapshots": plan.snapshots,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(document, out, indent=2, ensure_ascii=False)
        out.write("\n")
    os.replace(temp, path)


def load_plan(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise PlanFileError(f"{path}: not a readable saved plan ({error})") from None
    if not isinstance(document, dict) or document.get("planfile_version") != PLANFILE_VERSION:
        raise PlanFileError(
            f"{path}: not a saved plan of this tallyform version; make a new one with `plan --out`"
        )
    return document
