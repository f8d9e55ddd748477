"""What the plan renderers share: labels, symbols, value formatting, filtering noise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tallyform.model.changes import AttrChange, Change, Plan
from tallyform.model.kinds import Action, Kind
from tallyform.render.words import flow, shown, worded

Styler = Callable[
    [str, str], str
]  # (text, role) -> text; roles: create update delete reorder bold dim warn

SYMBOLS = {
    "create": "+",
    "update": "~",
    "move": "~",
    "delete": "-",
    "reorder": "~",
    "archive": "-",
    "restore": "+",
}
KIND_LABELS = {
    "key": "custom field key tallyform_key for",
    "folder": "folder",
    "tag": "tag",
    "template": "template",
    "kickoff": "kick-off field",
    "step": "step",
    "field": "field",
    "rule": "rule",
    "tagging": "tag",
}
VERBS = {
    "create": "created",
    "update": "updated in place",
    "move": "moved to another step",
    "delete": "deleted",
    "reorder": "reordered",
    "archive": "archived",
    "restore": "restored",
}
ROLES = {"move": "update", "archive": "delete", "restore": "create"}  # styler role of an action
TAGGING_VERBS = {"create": "attached", "delete": "detached"}
SUMMARY_ACTIONS = ("create", "update", "delete", "reorder")  # always shown; the others when used


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
    """How a change names its object: 'step "submit"', 'steps of template "x"'."""
    if change.action is Action.REORDER:
        if change.kind is Kind.STEP:
            return "steps"
        if change.kind is Kind.KICKOFF:
            return "kick-off fields"
        return f'fields of step "{change.path[1]}"'
    if change.kind is Kind.KEY and change.path[-1] == ID_MAPS:
        return "custom field key tallyform_ids for templates (their maps of their children)"
    if change.kind is Kind.KEY:
        return f"{KIND_LABELS['key']} {change.path[-1]}"
    return f'{KIND_LABELS[change.kind]} "{change.path[-1]}"'


def progress_line(change: Change, done: bool = True) -> str:
    """One line per change as apply carries it out: '+ field purchase-request/quote created'."""
    noun = "tallyform key for" if change.kind is Kind.KEY else KIND_LABELS[change.kind]
    if change.kind is Kind.KEY and change.path[-1] == ID_MAPS:
        said = verb(change) if done else f"not {verb(change)}"
        return f"{SYMBOLS[change.action]} tallyform ids for templates {said}"
    if change.action is Action.REORDER:
        noun = "order of"
        path = "/".join(change.path[:-1]) if change.kind is Kind.FIELD else change.path[0]
        if change.kind is Kind.KICKOFF:
            path += " kick-off fields"
        elif change.kind is Kind.STEP:
            path += " steps"
        else:
            path += " fields"
    else:
        path = change.name
    said = verb(change) if done else f"not {verb(change)}"
    return f"{SYMBOLS[change.action]} {noun} {path} {said}"


def role(action: str) -> str:
    return ROLES.get(action, action)


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
    if change.kind is Kind.TAGGING:
        return TAGGING_VERBS.get(change.action, VERBS[change.action])
    return VERBS[change.action]


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
