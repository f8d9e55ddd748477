"""What the plan renderers share: how a change is named and said (in the words of its spec,
:mod:`tallyform.model.kinds`), value formatting, filtering noise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tallyform.model.changes import AttrChange, Change, Plan
from tallyform.model.kinds import Action, Kind
from tallyform.render.words import flow, shown, worded

Styler = Callable[
    [str, str], str
]  # (text, role) -> text; roles: create update delete reorder bold dim warn

# Always counted in a summary; the others when a plan has them.
SUMMARY_ACTIONS = (Action.CREATE, Action.UPDATE, Action.DELETE, Action.REORDER)


def plain(text: str, role: str) -> str:
    return text


def is_empty(value: Any) -> bool:
    """Values a new object would have anyway; not worth a line in a plan."""
    if value in (None, False, "", [], {}):
        return True
    return isinstance(value, dict) and all(is_empty(v) for v in value.values())


def shown_attributes(change: Change) -> list[AttrChange]:
    """The attributes worth showing, in the template file's words (:mod:`.words`): for a
    create, those set to something."""
    attributes = worded(change)
    if change.action is Action.CREATE:
        return [a for a in attributes if not is_empty(a.new)]
    return attributes


def value(item: Any) -> str:
    """A value on a plan line: strings quoted, the rest in YAML flow style."""
    return shown(item)


def subject(change: Change) -> str:
    """How a change names its object: 'step "submit"', 'steps', 'fields of step "x"'."""
    noun = change.spec.noun
    if change.action is Action.REORDER:
        return f'{noun} of step "{change.path[1]}"' if change.kind is Kind.FIELD else noun
    if change.kind is Kind.KEY and change.path[-1] == ID_MAPS:
        return "custom field key tallyform_ids for templates (their maps of their children)"
    if change.kind is Kind.KEY:
        return f"custom field key tallyform_key for {change.path[-1]}"
    return f'{noun} "{change.path[-1]}"'


def progress_line(change: Change, done: bool = True) -> str:
    """One line per change as apply carries it out: '+ field purchase-request/quote created'."""
    said = verb(change) if done else f"not {verb(change)}"
    symbol = change.action.symbol
    if change.kind is Kind.KEY:  # in the plan's words, without its aside
        return f"{symbol} {subject(change).split(' (')[0]} {said}"
    if change.action is Action.REORDER:
        path = "/".join(change.path[:-1]) if change.kind is Kind.FIELD else change.path[0]
        return f"{symbol} order of {path} {change.spec.noun} {said}"
    return f"{symbol} {change.spec.noun} {change.name} {said}"


def role(action: str) -> str:
    """The styler role of an action: the action it is shown as (a move as an update)."""
    return Action(action).role.value


def item_lines(attribute: AttrChange) -> list[str]:
    """One line per element added, removed or renamed in a list attribute."""

    def bare(element: Any) -> str:
        return element if isinstance(element, str) else flow(element)

    lines = []
    for item in attribute.items:
        where = f"{item.at}: " if item.at else ""
        if item.action == "add":
            lines.append(f"+ {where}{bare(item.new)}")
        elif item.action == "remove":
            lines.append(f"- {where}{bare(item.old)}")
        else:
            lines.append(f"~ {where}{bare(item.old)} -> {bare(item.new)}")
    return lines


def verb(change: Change) -> str:
    return change.spec.verb


def action_counts(counts: dict[Action, int], form: str) -> list[str]:
    """Each action's count in ``form``: the four main actions always, the others when used."""
    return [
        form.format(count=counts[action], action=action)
        for action in counts
        if action in SUMMARY_ACTIONS or counts[action]
    ]


def summary_line(plan: Plan) -> str:
    parts = action_counts(plan.summary(), "{count} to {action}")
    writes = plan.writes
    return f"Plan: {', '.join(parts)} ({writes} write{'s' if writes != 1 else ''})."


ID_MAPS = "template id maps"  # the setup change of tallyform_ids (engine.planner.KIND_NAMES)


def setup_text(plan: Plan) -> str:
    names = [c.path[-1] for c in plan.setup if c.path[-1] != ID_MAPS]
    kinds = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)
    missing = [f"no tallyform_key custom field for {kinds}"] if names else []
    if len(names) < len(plan.setup):
        ids = "tallyform_ids for templates' maps of their children"
        missing.append(f"nor {ids}" if missing else f"no {ids}")
    return (
        f"The org has {', '.join(missing)}. Apply defines them first (it needs an org "
        "admin's token); tallyform uses them to recognise its objects after renames."
    )


def need_lines(plan: Plan) -> list[str]:
    """What apply will need for this plan, one sentence a flag (none: it needs nothing)."""
    return [f"Apply will need {need.flag}: {need.why}." for need in plan.needs]
