"""A launched process's state, worked out by tallyform's rule engine (:mod:`tallyform.logic`).

The emulator keeps, for each run, a copy of its template as it was at launch (Tallyfy
freezes a template's version once a process runs from it), the kick-off answers and
what happened since (tasks completed, approved, rejected, reopened, with their form
values). :func:`replay` hands these to the same :class:`~tallyform.logic.Engine` that
``tallyform check`` and ``tallyform test`` use, so the emulator's processes and the
offline simulation cannot disagree; the engine's module cites the semantics.

The engine takes model templates, so :func:`as_model` reads the stored template as one:
steps, form fields and kick-off fields named by their ids, members by email, groups by
name. Answers arrive as the API takes them (a dropdown's ``{"id", "text"}``, a
checklist's items with ``selected``) and are read as the engine compares them (the
option's text, the list of checked texts): :func:`answer`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tallyform.logic import Engine, Process, ProcessError
from tallyform.logic.engine import STARTER
from tallyform.logic.timeline import due
from tallyform.model import (
    Action,
    Assignees,
    Condition,
    Deadline,
    Field,
    Option,
    Rule,
    Step,
    Template,
)
from tallyform.stamps import parse_time, time_text


def _people(state: dict[str, Any], users: Any, groups: Any, guests: Any) -> Assignees:
    emails = {u["id"]: u["email"] for u in state["users"]}
    names = {g["id"]: g["name"] for g in state["groups"]}
    return Assignees(
        tuple(emails.get(u, f"#{u}") for u in users or []),
        tuple(names.get(g, f"#{g}") for g in groups or []),
        tuple(str(g) for g in guests or []),
    )


def _field(raw: dict[str, Any]) -> Field:
    return Field(
        key=raw["id"],
        label=raw.get("label") or "",
        type=raw.get("field_type") or "text",
        required=bool(raw.get("required")),
        options=tuple(Option(o.get("text", ""), o.get("id")) for o in raw.get("options") or []),
    )


def _deadline(raw: Any) -> Deadline | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("value"), int):
        return None
    anchor = raw.get("step")
    return Deadline(
        raw["value"],
        str(raw.get("unit") or "days"),
        str(raw.get("option") or "from"),
        None if anchor in (None, "", "start_run") else str(anchor),
    )


def _step(raw: dict[str, Any], state: dict[str, Any]) -> Step:
    settings = {
        name: bool(raw.get(name))
        for name in ("assign_run_starter", "can_complete_only_assignees")
        if raw.get(name)
    }
    return Step(
        key=raw["id"],
        title=raw.get("title") or "",
        type=raw.get("step_type") or "task",
        assignees=_people(state, raw.get("assignees"), raw.get("groups"), raw.get("guests")),
        deadline=_deadline(raw.get("deadline")),
        fields=[_field(c) for c in raw.get("captures") or []],
        settings=settings,
    )


def _action(raw: dict[str, Any], state: dict[str, Any]) -> Action:
    verb = "webhook" if raw.get("action_verb") == "emit_webhook" else str(raw.get("action_verb"))
    found = raw.get("assignees") or {}
    deadline = raw.get("deadline") if raw.get("action_type") == "deadline" else None
    return Action(
        verb,
        str(raw.get("target_step_id")),
        _people(state, found.get("users"), found.get("groups"), found.get("guests")),
        (deadline["value"], deadline["unit"], deadline["option"])
        if isinstance(deadline, dict)
        else None,
        (str(raw.get("webhook_url")), str(raw.get("alias_name") or ""))
        if verb == "webhook"
        else None,
    )


def _rule(raw: dict[str, Any], state: dict[str, Any]) -> Rule:
    conditions = sorted(raw.get("conditions") or [], key=lambda c: c.get("position") or 0)
    actions = sorted(raw.get("then_actions") or [], key=lambda a: a.get("position") or 0)
    logic = {c.get("logic") for c in conditions}
    return Rule(
        name=str(raw.get("automated_alias") or ""),
        match="any" if len(conditions) > 1 and logic == {"or"} else "all",
        when=tuple(
            Condition(
                "step" if c.get("conditionable_type") == "Step" else "field",
                str(c.get("conditionable_id")),
                str(c.get("operation")),
                c.get("statement"),
                c.get("column_contains_name") or None,
            )
            for c in conditions
        ),
        then=tuple(_action(a, state) for a in actions),
    )


def as_model(template: dict[str, Any], state: dict[str, Any]) -> Template:
    """The stored template as the rule engine takes it, every part named by its id."""
    return Template(
        key=template["id"],
        title=template.get("title") or "",
        kickoff=[_field(p) for p in template.get("prerun") or []],
        steps=[_step(s, state) for s in template.get("steps") or []],
        rules=[_rule(r, state) for r in template.get("automated_actions") or []],
    )


def answer(value: Any, state: dict[str, Any] | None = None) -> Any:
    """A value as the API takes it, as the engine compares it: a dropdown's option as its
    text, a checklist as the texts of its checked items, an assignee picker's people as
    emails and group names (with the org's ``state``), anything else as it is."""
    if isinstance(value, dict) and "text" in value:
        return value["text"]
    if isinstance(value, dict) and state is not None and {"users", "groups"} & set(value):
        people = _people(state, value.get("users"), value.get("groups"), value.get("guests"))
        return [*people.users, *people.groups, *people.guests]
    if isinstance(value, list) and all(isinstance(v, dict) and "text" in v for v in value):
        return [v["text"] for v in value if v.get("selected", True)]
    return value


@dataclass
class Replayed:
    """A run's process as the engine has it now, and the template it runs."""

    template: Template
    process: Process


def replay(run: dict[str, Any], state: dict[str, Any]) -> Replayed:
    """The run's process: launched with its kick-off answers, then each event in order."""
    template = as_model(run["template"], state)
    engine = Engine(template)
    values = {key: answer(v, state) for key, v in (run.get("prerun") or {}).items()}
    process = engine.launch(values)
    for event in run.get("events") or []:
        try:
            if event["kind"] == "reopen":
                engine.reopen(process, event["step"])
            else:
                taskdata = {k: answer(v, state) for k, v in (event.get("values") or {}).items()}
                engine.complete(process, event["step"], event.get("outcomes") or (), taskdata)
        except ProcessError:  # refused when it was asked for; nothing was recorded then
            continue
    return Replayed(template, process)


def allowed(replayed: Replayed, step: str, reopening: bool) -> str | None:
    """Why the step's task cannot be completed (or reopened) now; None if it can."""
    process = replayed.process
    if reopening:
        return None if step in process.completed else "This task is not completed."
    if step not in process.visible:
        return "This task is hidden in this process and cannot be completed."
    if step in process.completed:
        return "This task is already completed."
    return None


def owners(replayed: Replayed, step: str, state: dict[str, Any], starter: int) -> dict[str, Any]:
    """The task's assignees as the API shows them: user ids, guest emails, group ids."""
    found = replayed.process.assignees.get(step, frozenset())
    ids = {u["email"].lower(): u["id"] for u in state["users"]}
    groups = {g["name"]: g["id"] for g in state["groups"]}
    users = sorted(
        {ids[name.lower()] for kind, name in found if kind == "users" and name.lower() in ids}
    )
    if STARTER in found and starter not in users:
        users.append(starter)
    return {
        "users": users,
        "guests": sorted(name for kind, name in found if kind == "guests"),
        "groups": sorted(
            groups[name] for kind, name in found if kind == "groups" and name in groups
        ),
    }


def deadline_of(replayed: Replayed, step: str, run: dict[str, Any]) -> str | None:
    """When the task is due, as the API writes it (None: no deadline, or none yet)."""
    launched = parse_time(run["started_at"])
    assert launched is not None
    completed: dict[str, datetime] = {}
    for task in run["tasks"]:
        moment = parse_time(task.get("completed_at"))
        if moment is not None:
            completed[task["step_id"]] = moment
    own: Mapping[str, Deadline | None] = replayed.process.deadlines
    moment = due(own.get(step), launched, completed, own)
    return None if moment is None else time_text(moment)
