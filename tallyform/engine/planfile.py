"""Saved plans: what ``plan --out`` writes and ``apply PLANFILE`` reads.

A saved plan is the plan's changes in their own serialisation (:meth:`Change.as_dict`,
every attribute in full; not a rendering), the org it was made for (name and id), and,
for every live template the plan looked at, what it saw (id, last update, a digest of
the whole template); for templates to be created, that none existed, and the plan's
warnings. It never holds a token: the client keeps credentials to itself.

:meth:`SavedPlan.plan` turns a saved plan back into a :class:`Plan` that every renderer
shows exactly as ``plan`` showed it (``tallyform show``). A change's path is saved as one
text, its keys joined by ``/``; keys never hold a ``/``, but a folder's path, a tag's or
a rule's name may, so the path is split back by the number of parts its kind has
(:func:`path_parts`), the last part taking the rest.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from tallyform import __version__
from tallyform.bounded import FileRefused, TooLarge, read_bounded
from tallyform.errors import TallyformError
from tallyform.model.changes import (
    AttrChange,
    Change,
    ItemAction,
    ItemChange,
    Plan,
    Snapshot,
)
from tallyform.model.kinds import ACTIONS, KINDS, SPECS, Action, Kind

PLANFILE_VERSION = 2
MAX_PLANFILE_BYTES = 64 << 20  # a plan of a thousand templates is a few MB


class PlanFileError(TallyformError):
    """The file is not a saved plan tallyform can read."""


@dataclass(frozen=True)
class SavedPlan:
    org: str
    org_id: str
    partial: bool
    only: list[str]
    changes: list[dict[str, Any]]
    snapshots: dict[str, Snapshot]
    warnings: list[str] = field(default_factory=list)

    def plan(self) -> Plan:
        """The saved plan as the plan it was, for the renderers (no live objects in it)."""
        return Plan(
            org=self.org,
            org_id=self.org_id,
            changes=[saved_change(entry) for entry in self.changes],
            warnings=list(self.warnings),
            snapshots=dict(self.snapshots),
            partial=self.partial,
            only=list(self.only),
        )

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
        "snapshots": {key: seen.as_dict() for key, seen in plan.snapshots.items()},
        "warnings": plan.warnings,
    }


def path_parts(kind: Kind, action: Action) -> int:
    """How many keys a change's path has (its spec's ``path_length``)."""
    return SPECS[(Kind(kind), Action(action))].path_length


def split_path(path: str, kind: Kind, action: Action) -> tuple[str, ...]:
    """A saved path back as its keys (the last may hold a ``/``)."""
    return tuple(path.split("/", path_parts(kind, action) - 1))


def saved_change(entry: dict[str, Any]) -> Change:
    """A change as :meth:`Change.as_dict` saved it (and :func:`load_plan` checked it)."""
    kind, action = entry["kind"], entry["action"]
    return Change(
        action,
        kind,
        split_path(entry["path"], kind, action),
        [_saved_attribute(a) for a in entry.get("changes", [])],
        live_id=entry.get("id"),
        note=entry.get("note"),
        writes=entry["writes"],
        moves=tuple((m["key"], m["position"]) for m in entry.get("moves", [])),
        position=entry.get("position"),
        step=entry.get("step"),
    )


def _saved_attribute(entry: dict[str, Any]) -> AttrChange:
    items = tuple(
        ItemChange(i["action"], i.get("old"), i.get("new"), i.get("in", ""))
        for i in entry.get("items", [])
    )
    return AttrChange(entry["field"], entry["old"], entry["new"], items)


def save_plan(plan: Plan, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(plan_record(plan), out, indent=2, ensure_ascii=False, default=str)
        out.write("\n")
    os.replace(temp, path)


class _Damaged(Exception):
    """What is wrong with the shape of a saved plan (a message for PlanFileError)."""


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise _Damaged(what)


def _text(value: Any, what: str) -> str:
    _require(isinstance(value, str), f"{what} must be text")
    return str(value)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


CARRIED_OUT = frozenset(SPECS)  # (kind, action): the changes tallyform makes
CHANGE_ENTRIES = {
    *("path", "kind", "action", "id", "changes", "moves", "position", "note", "writes", "step")
}
ATTRIBUTE_ENTRIES = {"field", "old", "new", "items"}
ITEM_ENTRIES = {"action", "in", "old", "new"}
SNAPSHOT_ENTRIES = {"id", "last_updated", "fingerprint"}


def _check_change(number: int, change: Any) -> None:
    """A change as :meth:`Change.as_dict` writes it, or _Damaged."""
    what = f"change {number}"
    _require(isinstance(change, dict), f"{what} is not an object")
    unknown = sorted(str(k) for k in change if k not in CHANGE_ENTRIES)
    _require(not unknown, f"{what} has unknown entries ({', '.join(unknown)})")
    for entry in ("path", "kind", "action", "writes"):
        _require(entry in change, f"{what} has no '{entry}'")
    path = _text(change["path"], f"{what}'s path")
    _require(
        change["kind"] in KINDS, f"{what}'s kind {change['kind']!r} is not one tallyform knows"
    )
    _require(
        change["action"] in ACTIONS,
        f"{what}'s action {change['action']!r} is not one tallyform knows",
    )
    _require(
        (change["kind"], change["action"]) in CARRIED_OUT,
        f"{what} would {change['action']} a {change['kind']}, which is no change tallyform makes",
    )
    parts = split_path(path, change["kind"], change["action"])
    _require(
        len(parts) == path_parts(change["kind"], change["action"]) and all(parts),
        f"{what}'s path {path!r} does not name a {change['kind']}",
    )
    _require(_whole(change["writes"]) and change["writes"] >= 0, f"{what}'s writes must be a count")
    for entry in ("id", "note", "step"):
        if entry in change:
            _text(change[entry], f"{what}'s {entry}")
    if "position" in change:
        _require(_whole(change["position"]), f"{what}'s position must be a whole number")
    for attribute in _list(change.get("changes", []), f"{what}'s changes"):
        _require(
            isinstance(attribute, dict)
            and isinstance(attribute.get("field"), str)
            and {"old", "new"} <= set(attribute)
            and set(attribute) <= ATTRIBUTE_ENTRIES,
            f"{what} has an attribute that is not {{field, old, new}}",
        )
        for item in _list(attribute.get("items", []), f"{what}'s list changes"):
            _require(
                isinstance(item, dict)
                and item.get("action") in get_args(ItemAction)
                and set(item) <= ITEM_ENTRIES
                and isinstance(item.get("in", ""), str),
                f"{what} has a list change that is not {{action, old, new}}",
            )
    for move in _list(change.get("moves", []), f"{what}'s moves"):
        _require(
            isinstance(move, dict)
            and set(move) == {"key", "position"}
            and isinstance(move["key"], str)
            and _whole(move["position"]),
            f"{what} has a move that is not {{key, position}}",
        )


def _list(value: Any, what: str) -> list[Any]:
    _require(isinstance(value, list), f"{what} must be a list")
    return list(value)


def _check_snapshot(key: Any, seen: Any) -> Snapshot:
    what = f"the snapshot of template {key!r}"
    _require(isinstance(key, str), f"{what} is not named by a template key")
    _require(isinstance(seen, dict), f"{what} is not an object")
    unknown = sorted(str(k) for k in seen if k not in SNAPSHOT_ENTRIES)
    _require(not unknown, f"{what} has unknown entries ({', '.join(unknown)})")
    _require("id" in seen, f"{what} has no 'id'")
    _require(
        seen["id"] is None or isinstance(seen["id"], str) or _whole(seen["id"]),
        f"{what}'s id must be text or null",
    )
    if "fingerprint" in seen:
        _text(seen["fingerprint"], f"{what}'s fingerprint")
    last = seen.get("last_updated")
    _require(last is None or isinstance(last, (str, int, float)), f"{what}'s last_updated")
    found = None if seen["id"] is None else str(seen["id"])
    return Snapshot(found, last, _fingerprint=seen.get("fingerprint"))


def _saved(document: dict[str, Any]) -> SavedPlan:
    """The saved plan in ``document``, every part of it checked; _Damaged if any is wrong."""
    for entry in ("org", "org_id", "changes", "snapshots"):
        _require(entry in document, f"it has no '{entry}'")
    org = _text(document["org"], "'org'")
    _require(bool(org.strip()), "'org' is empty")
    org_id = _text(document["org_id"], "'org_id'")
    partial = document.get("partial", False)
    _require(isinstance(partial, bool), "'partial' must be true or false")
    only = _list(document.get("only", []), "'only'")
    _require(all(isinstance(p, str) for p in only), "'only' must list text patterns")
    _require(partial == bool(only), "'partial' does not agree with 'only'")
    changes = _list(document["changes"], "'changes'")
    for number, change in enumerate(changes, 1):
        _check_change(number, change)
    snapshots = document["snapshots"]
    _require(isinstance(snapshots, dict), "'snapshots' must be an object")
    warnings = _list(document.get("warnings", []), "'warnings'")
    _require(all(isinstance(w, str) for w in warnings), "'warnings' must list text")
    return SavedPlan(
        org=org,
        org_id=org_id,
        partial=partial,
        only=[str(p) for p in only],
        changes=changes,
        snapshots={key: _check_snapshot(key, seen) for key, seen in snapshots.items()},
        warnings=[str(w) for w in warnings],
    )


def load_plan(path: Path) -> SavedPlan:
    """The saved plan in ``path``; PlanFileError naming the file if it is not one, whole."""
    try:
        document = json.loads(read_bounded(path, MAX_PLANFILE_BYTES).decode("utf-8"))
    except TooLarge as error:
        raise PlanFileError(
            f"{path}: not a plan saved by `tallyform plan --out`, or damaged: "
            f"{error.reason} (a saved plan's limit is {MAX_PLANFILE_BYTES >> 20} MB); "
            "make a new one"
        ) from None
    except FileRefused as error:
        raise PlanFileError(f"{path}: cannot read the file: {error.reason}") from None
    except (ValueError, RecursionError) as error:
        if path.suffix in (".yaml", ".yml"):  # a template file, given as apply's PLANFILE
            raise PlanFileError(
                f"{path}: apply takes a plan saved by `tallyform plan --out`, not a template "
                "file; to apply one template, name its key: `tallyform apply --only KEY`"
            ) from None
        raise PlanFileError(
            f"{path}: not a plan saved by `tallyform plan --out`, or damaged: not readable "
            f"as JSON ({error}); make a new one"
        ) from None
    if not isinstance(document, dict) or "planfile_version" not in document:
        raise PlanFileError(
            f"{path}: not a plan saved by `tallyform plan --out`, or damaged: it has no "
            "planfile_version; make a new one"
        )
    if document.get("planfile_version") != PLANFILE_VERSION:
        raise PlanFileError(
            f"{path}: not a saved plan of this tallyform version; make a new one with `plan --out`"
        )
    try:
        return _saved(document)
    except _Damaged as damage:
        raise PlanFileError(
            f"{path}: not a plan saved by `tallyform plan --out`, or damaged: {damage}; "
            "make a new one"
        ) from None


# -- applying a saved plan: the checks apply makes before it plans again -----------------------


class SavedPlanRefused(TallyformError):
    """A saved plan that may not be applied here (another org, another --only, stale)."""


def load_for(path: Path, org_name: str | None) -> SavedPlan:
    """The saved plan in ``path``, refused when ``--org`` names another org than its own."""
    saved = load_plan(path)
    if org_name is not None and org_name != saved.org:
        raise SavedPlanRefused(f"{path}: {saved.made_for(org_name, saved.org_id)}")
    return saved


def planned_scope(saved: SavedPlan | None, only: tuple[str, ...]) -> tuple[str, ...]:
    """The templates to plan: a saved plan's own --only, which the command line may repeat."""
    if saved is None:
        return only
    if only and list(only) != saved.only:
        shown = " ".join(f"--only {p}" for p in saved.only) or "no --only"
        raise SavedPlanRefused(
            f"the saved plan was made with {shown}; apply it without --only, or make a new plan"
        )
    return tuple(saved.only)


def check_org(saved: SavedPlan, org_name: str, org_id: str, path: Path | None) -> None:
    """Refuse a saved plan made for another org (or the org's id changed since)."""
    reason = saved.made_for(org_name, org_id)
    if reason:
        raise SavedPlanRefused(f"{path}: {reason}; nothing was changed")


def check_fresh(saved: SavedPlan, plan: Plan) -> None:
    """Refuse a saved plan when ``plan``, made again now, finds the org changed since."""
    reasons = plan.stale_since(saved.snapshots, saved.changes)
    if reasons:
        raise SavedPlanRefused(
            "the saved plan is stale, nothing was changed: "
            + "; ".join(reasons)
            + ". Make a new plan."
        )
