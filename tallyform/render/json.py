"""Plans as one JSON document (``format_version`` 1), for machines and CI."""

from __future__ import annotations

import json
from typing import Any

from tallyform.model.changes import Plan
from tallyform.render.common import shown_attributes

FORMAT_VERSION = 1


def plan_document(plan: Plan) -> dict[str, Any]:
    """The plan as JSON-able data; creates list only attributes that are set."""
    changes = []
    for change in plan.changes:
        entry = change.as_dict()
        if change.attributes:
            entry["changes"] = [a.as_dict() for a in shown_attributes(change)]
        if change.template in plan.drift:
            entry["drift"] = True
        changes.append(entry)
    return {
        "format_version": FORMAT_VERSION,
        "org": plan.org,
        "org_id": plan.org_id,
        "partial": plan.partial,
        "summary": plan.summary(),
        "writes": plan.writes,
        "setup": [c.path[-1] for c in plan.setup],
        "warnings": plan.warnings,
        "conflicts": [
            {"what": c.what, "key": c.key, "ids": list(c.ids), "message": c.message()}
            for c in plan.conflicts
        ],
        "blockers": list(plan.blockers),
        "apply_needs": [{"flag": n.flag, "why": n.why} for n in plan.needs],
        "drift": [{"template": key, "why": why} for key, why in plan.drift.items()],
        "changes": changes,
    }


def render_json(plan: Plan) -> str:
    return json.dumps(plan_document(plan), indent=2, ensure_ascii=False) + "\n"
