"""Saved plans: what ``plan --out`` writes and ``apply PLANFILE`` reads.

A saved plan is the plan's changes in their own serialisation (:meth:`Change.as_dict`,
every attribute in full; not a rendering), the org it was made for (name and id), and,
for every live template the plan looked at, what it saw (id, last update, a digest of
the whole template); for templates to be created, that none existed. It never holds a
token: the client keeps credentials to itself.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tallyform import __version__
from tallyform.engine.changes import Plan

PLANFILE_VERSION = 2


class PlanFileError(Exception):
    """The file is not a saved plan tallyform can read."""


@dataclass(frozen=True)
class SavedPlan:
    org: str
    org_id: str
    partial: bool
    only: list[str]
    changes: list[dict[str, Any]]
    snapshots: dict[str, dict[str, Any]]

    def made_for(self, org_name: str, org_id: str) -> str | None:
        """Why this plan may not be applied to that org (None: it may)."""
        if org_name != self.org:
            return (
                f"this plan was made for org '{self.org}' ({self.org_id}), not '{org_name}'; "
                f"make a plan for '{org_name}' with `tallyform plan --org {org_name} --out FILE`"
            )
        if org_id != self.org_id:
            return (
                f"this plan was made for org '{self.org}' with id {self.org_id}, but "
                f"'{org_name}' is now {org_id} in tallyform.yaml; make a new plan"
            )
        return None


def plan_record(plan: Plan) -> dict[str, Any]:
    return {
        "planfile_version": PLANFILE_VERSION,
        "tallyform_version": __version__,
        "org": plan.org,
        "org_id": plan.org_id,
        "partial": plan.partial,
        "only": plan.only,
        "changes": [c.as_dict() for c in plan.changes],
        "snapshots": plan.snapshots,
    }


def save_plan(plan: Plan, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(plan_record(plan), out, indent=2, ensure_ascii=False, default=str)
        out.write("\n")
    os.replace(temp, path)


def load_plan(path: Path) -> SavedPlan:
    try:
        document = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise PlanFileError(f"{path}: not a readable saved plan ({error})") from None
    if not isinstance(document, dict) or document.get("planfile_version") != PLANFILE_VERSION:
        raise PlanFileError(
            f"{path}: not a saved plan of this tallyform version; make a new one with `plan --out`"
        )
    try:
        return SavedPlan(
            org=str(document["org"]),
            org_id=str(document["org_id"]),
            partial=bool(document.get("partial")),
            only=[str(p) for p in document.get("only") or []],
            changes=list(document["changes"]),
            snapshots=dict(document["snapshots"]),
        )
    except (KeyError, TypeError, ValueError):
        raise PlanFileError(f"{path}: a saved plan with parts missing; make a new one") from None
