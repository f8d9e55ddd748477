"""Templates in one normalised shape, whether declared in YAML or read from the live org.

Both sides become :class:`TemplateState` trees whose ``attrs`` are plain, comparable
values: people by lowercase email, groups by name, tags by title, folders by path, steps
and fields referred to by key, defaults filled in, server-managed fields left out. A
template applied unchanged therefore plans as nothing.

Live objects are keyed by their tallyform key; those without one are matched to declared
siblings by title or label (see :mod:`tallyform.tallyfy.decode`). A live state keeps the
record it was decoded from (:class:`LiveRecord`), opaque here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypedDict, cast

from tallyform import model
from tallyform.model import Field, Rule, Step, Template
from tallyform.model.changes import Conflict

MatchedBy = Literal["key", "title"]  # how a live object was paired with a declared one
# The record kinds that carry a tallyform key (how the API names each is Tallyfy's business).
KEY_RECORDS = ("template", "step", "field", "kickoff")

TEMPLATE_SETTINGS: dict[str, Any] = {
    "guidance": None,
    "icon": None,
    "webhook": None,
    "explanation_video": None,
    "kickoff_title": None,
    "kickoff_description": None,
    "default_process_name_format": None,
    "starred": False,
    "is_public": False,
    "is_public_kickoff": False,
    "is_featured": False,
    "auto_naming": False,
    "folderize_process": False,
    "tag_process": False,
    "allow_launcher_change_name": False,
    "can_add_oot": False,
}
STEP_SETTINGS: dict[str, Any] = {
    "max_assignable": None,
    "webhook": None,
    "allow_guest_owners": False,
    "skip_start_process": False,
    "can_complete_only_assignees": False,
    "everyone_must_complete": False,
    "prevent_guest_comment": False,
    "is_soft_start_date": False,
    "assign_run_starter": False,
    "role_changes_every_time": False,
    "top_secret": False,
    "send_chromeless": False,
}
FIELD_SETTINGS: dict[str, Any] = {
    "guidance": None,
    "default_value": None,
    "collect_time": False,
    "use_wysiwyg_editor": False,
    "validation": [],
    "prefix": None,
    "suffix": None,
}
_SINGULAR_UNITS = {
    "minute": "minutes",
    "hour": "hours",
    "day": "days",
    "week": "weeks",
    "month": "months",
}
_WRAPPING_P = re.compile(r"^<p>(.*)</p>$", re.S)


class People(TypedDict):
    users: list[str]  # lowercase emails, sorted
    groups: list[str]  # names, sorted


class Assignees(People):
    guests: list[str]  # lowercase emails, sorted


class DeadlineAttrs(TypedDict):
    value: Any
    unit: Any
    option: str
    step: str | None  # a step key; None counts from the process launch


class StartAttrs(TypedDict):
    value: Any
    unit: Any


class TemplateAttrs(TypedDict):
    """A template's attributes as plan compares them (tags are changes of their own)."""

    title: str
    type: str
    summary: str | None
    access: People
    folder: str | None
    guidance: str | None
    icon: str | None
    webhook: str | None
    explanation_video: str | None
    kickoff_title: str | None
    kickoff_description: str | None
    default_process_name_format: str | None
    starred: bool
    is_public: bool
    is_public_kickoff: bool
    is_featured: bool
    auto_naming: bool
    folderize_process: bool
    tag_process: bool
    allow_launcher_change_name: bool
    can_add_oot: bool


class StepAttrs(TypedDict):
    title: str
    type: str
    summary: str | None
    assignees: Assignees
    deadline: DeadlineAttrs | None
    start_date: StartAttrs | None
    max_assignable: int | None
    webhook: str | None
    allow_guest_owners: bool
    skip_start_process: bool
    can_complete_only_assignees: bool
    everyone_must_complete: bool
    prevent_guest_comment: bool
    is_soft_start_date: bool
    assign_run_starter: bool
    role_changes_every_time: bool
    top_secret: bool
    send_chromeless: bool


class FieldAttrs(TypedDict):
    """A form field's or kick-off field's attributes (which step holds it is not one)."""

    label: str
    type: str
    required: bool
    options: list[str]
    columns: list[str]
    guidance: str | None
    default_value: Any
    collect_time: bool
    use_wysiwyg_editor: bool
    validation: list[Any]
    prefix: str | None
    suffix: str | None


class RuleAttrs(TypedDict):
    match: str
    when: list[dict[str, Any]]
    then: list[dict[str, Any]]


class LiveRecord(Protocol):
    """The record a live state was decoded from (:mod:`tallyform.tallyfy.records`), kept
    on the state for apply and opaque to the model and the engine.

    Why a state keeps it rather than only its attributes: apply's writes need what the
    normalised attributes leave out on purpose (which values the org holds that a write
    must clear, the ids of a field's options, the other custom-field values a key write
    sends back), and only the Tallyfy package knows how to read them. It is a typed record
    of Tallyfy's answer, never the answer itself: nothing outside ``tallyform.tallyfy``
    looks inside it; its id is the one thing every record has.
    """

    @property
    def id(self) -> str | None: ...


@dataclass
class FieldState:
    key: str
    attrs: FieldAttrs
    live_id: str | None = None
    matched_by: MatchedBy | None = None
    source: Field | None = None
    record: LiveRecord | None = None  # what it was read from (live states only)
    step: str | None = None  # the step holding a form field; None for kick-off fields


@dataclass
class StepState:
    key: str
    attrs: StepAttrs
    live_id: str | None = None
    matched_by: MatchedBy | None = None
    source: Step | None = None
    record: LiveRecord | None = None  # what it was read from (live states only)


@dataclass
class RuleState:
    name: str
    attrs: RuleAttrs
    live_id: str | None = None
    source: Rule | None = None
    record: LiveRecord | None = None  # what it was read from (live states only)


@dataclass
class TemplateState:
    key: str
    attrs: TemplateAttrs
    kickoff: dict[str, FieldState] = field(default_factory=dict)  # in order
    steps: dict[str, StepState] = field(default_factory=dict)  # in order
    fields: dict[str, FieldState] = field(
        default_factory=dict
    )  # step fields; each one's ``step`` names its step
    rules: dict[str, RuleState] = field(default_factory=dict)
    tags: dict[str, int | str | None] = field(default_factory=dict)  # title -> association id
    conflicts: list[Conflict] = field(default_factory=list)  # live objects sharing a key
    live_id: str | None = None
    matched_by: MatchedBy | None = None
    source: Template | None = None
    record: LiveRecord | None = None  # what it was read from (live states only)

    def fields_by_step(self) -> dict[str, list[str]]:
        """Each step's field keys in order, every step listed (one pass over the fields)."""
        grouped: dict[str, list[str]] = {step: [] for step in self.steps}
        for key, item in self.fields.items():
            if item.step in grouped:
                grouped[item.step].append(key)
        return grouped


# -- shared normalisation ----------------------------------------------------------------


def text(value: Any) -> str | None:
    """Free text as compared: trimmed, one wrapping <p> removed, empty as None."""
    if value is None:
        return None
    cleaned = str(value).strip()
    wrapped = _WRAPPING_P.match(cleaned)
    if wrapped and "<p>" not in wrapped.group(1):
        cleaned = wrapped.group(1).strip()
    return cleaned or None


def people(users: list[str], groups: list[str]) -> People:
    return {"users": sorted(u.lower() for u in users), "groups": sorted(groups)}


def assignees(users: list[str], groups: list[str], guests: list[str]) -> Assignees:
    return {**people(users, groups), "guests": sorted(g.lower() for g in guests)}


def unit(value: Any) -> Any:
    return _SINGULAR_UNITS.get(value, value) if isinstance(value, str) else value


def statement(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- declared side -----------------------------------------------------------------------


def _field_attrs(item: Field) -> FieldAttrs:
    attrs: dict[str, Any] = {
        "label": item.label,
        "type": item.type,
        "required": item.required,
        "options": [o.text for o in item.options],
        "columns": [c.label for c in item.columns],
    }
    for name, default in FIELD_SETTINGS.items():
        value = item.settings.get(name, default)
        attrs[name] = text(value) if name == "guidance" else value
    return cast(FieldAttrs, attrs)


def _desired_people(value: model.Assignees) -> People:
    return people(list(value.users), list(value.groups))


def _desired_assignees(value: model.Assignees) -> Assignees:
    return assignees(list(value.users), list(value.groups), list(value.guests))


def _step_attrs(step: Step) -> StepAttrs:
    deadline = step.deadline
    attrs: dict[str, Any] = {
        "title": step.title,
        "type": step.type,
        "summary": text(step.summary),
        "assignees": _desired_assignees(step.assignees),
        "deadline": None
        if deadline is None
        else {
            "value": deadline.value,
            "unit": deadline.unit,
            "option": deadline.option,
            "step": deadline.step,
        },
        "start_date": None
        if step.start_date is None
        else {"value": step.start_date[0], "unit": step.start_date[1]},
    }
    for name, default in STEP_SETTINGS.items():
        attrs[name] = step.settings.get(name, default)
    return cast(StepAttrs, attrs)


def _rule_attrs(rule: Rule) -> RuleAttrs:
    when = []
    for condition in rule.when:
        entry: dict[str, Any] = {condition.subject: condition.key, "is": condition.operation}
        if condition.subject == "field":
            entry["value"] = statement(condition.value)
        if condition.column:
            entry["column"] = condition.column
        when.append(entry)
    then = []
    for action in rule.then:
        entry = {"verb": action.verb, "step": action.step}
        if action.verb in ("assign", "assign_only", "unassign"):
            entry["assignees"] = _desired_assignees(action.assignees)
        if action.deadline is not None:
            value, unit_name, option = action.deadline
            entry["deadline"] = {"value": value, "unit": unit_name, "option": option}
        if action.webhook is not None:
            entry["webhook"] = {"url": action.webhook[0], "name": action.webhook[1]}
        then.append(entry)
    return {"match": rule.match if len(rule.when) > 1 else "all", "when": when, "then": then}


def desired_state(template: Template) -> TemplateState:
    """The normalised state a template file declares."""
    attrs: dict[str, Any] = {
        "title": template.title,
        "type": template.type,
        "summary": text(template.summary),
        "access": _desired_people(template.access),
        "folder": template.folder,
    }
    for name, default in TEMPLATE_SETTINGS.items():
        value = template.settings.get(name, default)
        attrs[name] = text(value) if name in ("guidance", "kickoff_description") else value
    state = TemplateState(key=template.key, attrs=cast(TemplateAttrs, attrs), source=template)
    state.tags = dict.fromkeys(sorted(template.tags))
    for item in template.kickoff:
        state.kickoff[item.key] = FieldState(item.key, _field_attrs(item), source=item)
    for step in template.steps:
        state.steps[step.key] = StepState(step.key, _step_attrs(step), source=step)
        for item in step.fields:
            state.fields[item.key] = FieldState(
                item.key, _field_attrs(item), source=item, step=step.key
            )
    for rule in template.rules:
        state.rules[rule.name] = RuleState(rule.name, _rule_attrs(rule), source=rule)
    return state
