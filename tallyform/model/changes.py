"""What a plan is made of: typed changes, each one apply carries out as listed.

A :class:`Change` names an object by its path of keys (template / step / field, or an
org-wide object such as a folder or tag by its name), says what happens to it, lists
each attribute's old and new value, and says how many writes it costs. Apply runs the
changes in the order the plan holds them (the order the API needs), and nothing else:
the plan's counts, apply's closing line and the API's request log agree.

:class:`Plan` also owns the checks that are about a plan as a whole, as octoDNS keeps
its thresholds on its plan: the delete safety share and whether a saved plan is stale.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from tallyform.model.kinds import ACTIONS, SPECS, Action, ChangeSpec, Kind

if TYPE_CHECKING:
    from tallyform.model.state import TemplateState


ItemAction = Literal["add", "remove", "rename"]


@dataclass(frozen=True)
class ItemChange:
    """One element of a list attribute: an option added, a column renamed, an assignee removed."""

    action: ItemAction
    old: Any = None
    new: Any = None
    at: str = ""  # where in the attribute, e.g. "users" inside assignees

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action}
        if self.at:
            out["in"] = self.at
        if self.action != "add":
            out["old"] = self.old
        if self.action != "remove":
            out["new"] = self.new
        return out


@dataclass(frozen=True)
class AttrChange:
    """One attribute of an object: its live value, the value it will have, and, for
    lists, which elements change."""

    name: str
    old: Any
    new: Any
    items: tuple[ItemChange, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.name, "old": self.old, "new": self.new}
        if self.items:
            out["items"] = [i.as_dict() for i in self.items]
        return out


@dataclass
class Change:
    """One change to one object, with what apply needs to carry it out.

    ``writes`` is the number of requests that change something (POST, PUT, DELETE) this
    change sends when no request fails; ``moves`` lists a reorder's moves as (key,
    1-based position); ``position`` is where a new or moved form field goes. ``desired``
    and ``live`` are the normalised objects the request bodies are built from; they are
    not part of the change's identity and are never saved.

    The planner decides, once, the duties a change has besides its own writes, and apply
    follows them: ``sends_form`` (it sends its template's own PUT, which carries the
    template's settings and its whole kick-off form), ``waits_for`` (a new step whose
    deadline counts from a step made later: that step, once made, sends its deadline) and
    ``writes_map`` (it gives an existing template its first new child, so the template's
    map of its children is written once every change is made). Where the org builds the
    steps nested in a template's create (``tallyform probe`` found so), a new template's
    create has ``sends_steps`` (its POST carries its steps and their form fields), each of
    those step and field creates ``built_by_template`` (the POST makes it), and every new
    child of it ``keyed_by_map`` (its key is written only in its template's map of its
    children, with the template's own key). Its ``spec`` (its kind and action,
    :mod:`tallyform.model.kinds`) turns them into its writes.
    """

    action: Action
    kind: Kind
    path: tuple[str, ...]
    attributes: list[AttrChange] = field(default_factory=list)
    live_id: str | None = None
    note: str | None = None
    writes: int = 1
    moves: tuple[tuple[str, int], ...] = ()
    position: int | None = None
    step: str | None = None  # the step holding a form field (for a move, the one it goes to)
    desired: Any = field(default=None, compare=False, repr=False)
    live: Any = field(default=None, compare=False, repr=False)
    sends_form: bool = field(default=False, compare=False)
    waits_for: str | None = field(default=None, compare=False)
    writes_map: bool = field(default=False, compare=False)
    sends_steps: bool = field(default=False, compare=False)
    built_by_template: bool = field(default=False, compare=False)
    keyed_by_map: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        # Plain strings are taken too (tests, hand-built plans): the members compare equal.
        self.action = Action(self.action)
        self.kind = Kind(self.kind)

    @property
    def spec(self) -> ChangeSpec:
        """What this kind of change is (KeyError: a pair tallyform never plans; a saved
        plan holding one is refused when it is read)."""
        return SPECS[(self.kind, self.action)]

    @property
    def org_wide(self) -> bool:
        return self.kind.org_wide

    @property
    def template(self) -> str | None:
        """The template this change belongs to; None for org-wide objects."""
        return None if self.org_wide else self.path[0]

    @property
    def name(self) -> str:
        return "/".join(self.path)

    @property
    def creates(self) -> bool:
        return self.action is Action.CREATE

    @property
    def creates_template(self) -> bool:
        return self.kind is Kind.TEMPLATE and self.action is Action.CREATE

    @property
    def archives_template(self) -> bool:
        return self.kind is Kind.TEMPLATE and self.action is Action.ARCHIVE

    @property
    def creates_child(self) -> bool:
        """Whether this change makes a step, form field or kick-off field: something its
        template's map of its children (tallyform_ids) must then name."""
        return self.spec.creates_child

    @property
    def loses_data(self) -> bool:
        """Whether it archives a template or deletes a part of one (what the safety share counts)."""
        return self.spec.loses_data

    def attribute(self, name: str) -> AttrChange | None:
        return next((a for a in self.attributes if a.name == name), None)

    def changes_more_than(self, *names: str) -> bool:
        """Whether any attribute besides ``names`` changes (``key`` alone needs no PUT)."""
        return any(a.name not in names for a in self.attributes)

    def as_dict(self) -> dict[str, Any]:
        """The change as saved and as ``plan --format json`` shows it."""
        out: dict[str, Any] = {
            "path": self.name,
            "kind": self.kind.value,
            "action": self.action.value,
        }
        if self.live_id:
            out["id"] = self.live_id
        if self.attributes:
            out["changes"] = [a.as_dict() for a in self.attributes]
        if self.moves:
            out["moves"] = [{"key": k, "position": p} for k, p in self.moves]
        if self.position is not None:
            out["position"] = self.position
        if self.step is not None:
            out["step"] = self.step
        if self.note:
            out["note"] = self.note
        out["writes"] = self.writes
        return out


@dataclass(frozen=True)
class Conflict:
    """Two live objects that carry one tallyform key: nothing can be planned for them."""

    what: str  # "templates", "steps of template x", ...
    key: str
    ids: tuple[str, ...]
    titles: tuple[str, ...]

    def message(self) -> str:
        found = ", ".join(f"{i} ({t!r})" for i, t in zip(self.ids, self.titles, strict=True))
        return (
            f"{len(self.ids)} live {self.what} carry the tallyform key '{self.key}': {found}. "
            "Keep one: if the others are copies made in Tallyfy, clear their tallyform_key "
            "custom field or archive them, then plan again."
        )


class Fingerprinted(Protocol):
    """What a plan saw of a live template: a digest of all of it (the Tallyfy package's
    :class:`~tallyform.tallyfy.records.TemplateRecord` knows how to make one)."""

    def fingerprint(self) -> str: ...


@dataclass
class Snapshot:
    """What a plan saw of one template in the org (``id`` None: it was not there).

    The fingerprint of a live template is worked out from what was ``seen`` when first
    asked for: only a plan that is saved, or checked against a saved one, needs it, and
    hashing a thousand templates costs a plan a third of a second.
    """

    id: str | None = None
    last_updated: Any = None
    seen: Fingerprinted | None = field(default=None, repr=False, compare=False)
    _fingerprint: str | None = field(default=None, repr=False)

    @property
    def fingerprint(self) -> str | None:
        if self._fingerprint is None and self.seen is not None:
            self._fingerprint = self.seen.fingerprint()
        return self._fingerprint

    def differs(self, other: Snapshot) -> bool:
        """Whether ``other`` saw another template, or this one changed since."""
        return self.id != other.id or self.fingerprint != other.fingerprint

    def as_dict(self) -> dict[str, Any]:
        if self.id is None:
            return {"id": None}
        return {"id": self.id, "last_updated": self.last_updated, "fingerprint": self.fingerprint}


@dataclass
class Plan:
    """Every change for one org, with what the plan saw of each live template."""

    org: str
    org_id: str
    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)  # why apply must not carry it out
    snapshots: dict[str, Snapshot] = field(default_factory=dict)  # template key -> seen
    partial: bool = False
    only: list[str] = field(default_factory=list)  # the --only patterns a partial plan used
    # What apply needs besides the changes, from the plan's reading of the org; never saved
    # (a saved plan is planned afresh before it is applied): each template's declared and
    # live states, and the org as read (``tallyform.tallyfy.read.LiveOrg``, a type of the
    # wire package, which the model does not name).
    states: dict[str, tuple[TemplateState | None, TemplateState | None]] = field(
        default_factory=dict, compare=False, repr=False
    )
    reading: object = field(default=None, compare=False, repr=False)
    needs: list[Need] = field(default_factory=list)  # flags apply will need (see apply_needs)
    drift: dict[str, str] = field(default_factory=dict)  # template key -> changed in Tallyfy when

    @property
    def matched_words(self) -> str:
        """What an empty plan says matches: the whole repository, or (a partial plan)
        only the templates it covered."""
        if self.partial:
            return "The templates this plan covers match the org."
        return "The org matches the repository."

    @property
    def empty(self) -> bool:
        return not self.changes

    @property
    def writes(self) -> int:
        return sum(c.writes for c in self.changes)

    @property
    def setup(self) -> list[Change]:
        """The tallyform_key definitions the org lacks (apply makes them first)."""
        return [c for c in self.changes if c.kind is Kind.KEY]

    def summary(self) -> dict[Action, int]:
        return count_actions(self.changes)

    def by_template(self) -> dict[str, list[Change]]:
        grouped: dict[str, list[Change]] = {}
        for change in self.changes:
            if change.template is not None:
                grouped.setdefault(change.template, []).append(change)
        return grouped

    def org_changes(self) -> list[Change]:
        return [c for c in self.changes if c.org_wide]

    @property
    def managed(self) -> int:
        """Live templates tallyform owns or adopts in this plan."""
        return sum(1 for seen in self.snapshots.values() if seen.id)

    def archived(self) -> list[str]:
        return [c.path[0] for c in self.changes if c.archives_template]

    def damaged(self) -> set[str]:
        """Templates archived or losing steps, fields, kick-off fields or rules."""
        return {c.path[0] for c in self.changes if c.loses_data}

    def stale_since(
        self, snapshots: dict[str, Snapshot], changes: list[dict[str, Any]]
    ) -> list[str]:
        """Why a plan saved with ``snapshots`` and ``changes`` no longer fits, judged by this
        fresh plan of the same org (empty: it still fits and may be applied as saved)."""
        reasons = []
        changed = [
            k for k, seen in snapshots.items() if seen.differs(self.snapshots.get(k, Snapshot()))
        ]
        if changed:
            reasons.append(f"{_templates(changed)} changed in the org since the plan was made")
        new = [key for key in self.snapshots if key not in snapshots]
        if new:
            verb = "is" if len(new) == 1 else "are"
            reasons.append(
                f"{_templates(new)} {verb} new in the org or the repository since the plan was made"
            )
        fresh = json.loads(json.dumps([c.as_dict() for c in self.changes], default=str))
        if not any("step" in c for c in changes):  # saved before a field's change named its step
            for entry in fresh:
                entry.pop("step", None)
        if not reasons and changes != fresh:
            reasons.append("the repository or the org's folders, tags or keys changed since")
        return reasons

    def exceeds_share(self, share: float, minimum: int) -> bool:
        """Whether the plan damages more than ``share`` of the managed templates.

        Below ``minimum`` managed templates the share is not applied: removing one field
        of a three-template repo is routine, not a disaster (octoDNS does the same).
        """
        managed = self.managed
        return managed >= minimum and len(self.damaged()) / max(managed, 1) > share


def _templates(keys: list[str]) -> str:
    """'template a', or 'templates a, b and 3 more' (a plan may span hundreds)."""
    shown = sorted(keys)
    named = ", ".join(shown[:5]) + (f" and {len(shown) - 5} more" if len(shown) > 5 else "")
    return f"template {named}" if len(shown) == 1 else f"templates {named}"


@dataclass(frozen=True)
class Need:
    """A flag apply will need to carry out a plan, and why."""

    flag: str
    why: str


def apply_needs(plan: Plan, share: float, minimum: int) -> list[Need]:
    """What apply will refuse this plan without, as it checks it (``--allow-delete`` for
    archives, ``--force`` past the safety share), so the plan can say so before a merge."""
    needs = []
    archived = plan.archived()
    if archived:
        named = ", ".join(sorted(archived))
        said = "1 template" if len(archived) == 1 else f"{len(archived)} templates"
        needs.append(Need("--allow-delete", f"it archives {said} ({named})"))
    if plan.exceeds_share(share, minimum):
        needs.append(
            Need(
                "--force",
                f"it deletes or removes parts of {len(plan.damaged())} of {plan.managed} "
                f"managed templates, more than the safety share of {share:.0%}",
            )
        )
    return needs


def count_actions(changes: Iterable[Change]) -> dict[Action, int]:
    counts: dict[Action, int] = dict.fromkeys(ACTIONS, 0)
    for change in changes:
        counts[change.action] += 1
    return counts
