"""What a plan is made of: changes to templates, steps, form fields, kick-off fields and rules.

A :class:`Change` names an object by its path of keys (template / step / field), says what
happens to it and, for updates, lists each attribute's old and new value. Changes are plain
data: renderers print them, the saved plan stores them, apply carries them out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ACTIONS = ("create", "update", "delete", "reorder")
KINDS = ("setup", "template", "kickoff", "step", "field", "rule")


@dataclass(frozen=True)
class AttrChange:
    """One attribute of an object: its live value and the value it will have."""

    name: str
    old: Any
    new: Any

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.name, "old": self.old, "new": self.new}


@dataclass
class Change:
    action: str  # create | update | delete | reorder
    kind: str  # template | kickoff | step | field | rule
    path: tuple[str, ...]  # template key, then step key or field key or rule name
    attributes: list[AttrChange] = field(default_factory=list)
    live_id: str | None = None
    note: str | None = None  # e.g. "matched by title: its key will be written"

    @property
    def template(self) -> str:
        return self.path[0]

    @property
    def name(self) -> str:
        return "/".join(self.path)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.name, "kind": self.kind, "action": self.action}
        if self.live_id:
            out["id"] = self.live_id
        if self.attributes:
            out["changes"] = [a.as_dict() for a in self.attributes]
        if self.note:
            out["note"] = self.note
        return out


@dataclass
class Plan:
    """Every change for one org, with what the plan saw of each live template."""

    org: str
    org_id: str
    changes: list[Change] = field(default_factory=list)
    setup: list[str] = field(default_factory=list)  # custom-field keys to define first
    warnings: list[str] = field(default_factory=list)
    snapshots: dict[str, dict[str, Any]] = field(default_factory=dict)  # template key -> seen
    partial: bool = False

    @property
    def empty(self) -> bool:
        return not self.changes and not self.setup

    def summary(self) -> dict[str, int]:
        counts = dict.fromkeys(ACTIONS, 0)
        for change in self.changes:
            counts[change.action] += 1
        return counts

    def by_template(self) -> dict[str, list[Change]]:
        grouped: dict[str, list[Change]] = {}
        for change in self.changes:
            grouped.setdefault(change.template, []).append(change)
        return grouped
