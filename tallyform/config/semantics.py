"""Semantic checks of a template: what the JSON Schema cannot say.

Keys unique at every level, choice and table fields complete, references (deadlines,
rules) pointing at steps and fields that exist, people named by valid emails. Each check
returns problems located at the exact key or value; none stops at the first.

:func:`check_template_document` runs the schema and these checks in one pass: what the
schema refuses (a setting of the template or a step, a whole field or rule) is left out
of the semantic checks, whose answers about it would be guesses, while the keys of every
part still count for references. Where
a key may be hidden from view (an unknown key at the top or in a step, which may be a
misspelt ``steps`` or ``fields``, or a part whose key cannot be read), a reference to an
unknown key is not reported: it may be right once the schema problems are fixed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from tallyform.config import suggest
from tallyform.config.build import DeclaredKeys, build_template, declared_keys
from tallyform.config.schema import SchemaError, schema_errors
from tallyform.config.source import DataPath, Document, Location, Problem
from tallyform.model.template import (
    ACTION_VERBS,
    CHOICE_TYPES,
    STEP_OPERATIONS,
    VALUELESS_OPERATIONS,
    Assignees,
    Field,
    Origin,
    Rule,
    Scenario,
    Step,
    Template,
)

_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[A-Za-z0-9-]{2,}$")
_NO_DEFAULT_TYPES = {"file", "table", "assignees_form"}


def _where(origin: Origin | None, *sub: str | int) -> Location:
    assert origin is not None, "declared objects always carry an origin"
    return origin.locate(*sub)


def _identity_location(origin: Origin | None, data_key: str) -> Location:
    """Where an object's key is written, or its title/label if the key is implied."""
    assert origin is not None
    name = "key" if "key" in origin.data() else data_key
    return origin.locate(name)


def _duplicates(
    items: Iterable[tuple[str, Origin | None]], kind: str, named_by: str
) -> Iterator[Problem]:
    seen: dict[str, Location] = {}
    for key, origin in items:
        here = _identity_location(origin, named_by)
        if key in seen:
            first = seen[key]
            where = f"line {first.line}" if first.file == here.file else str(first)
            yield Problem(
                here,
                f"{kind} key '{key}' is already used at {where}; give one of them its own `key:`",
            )
        else:
            seen[key] = here


def _check_empty_key(
    key: str, origin: Origin | None, kind: str, named_by: str
) -> Iterator[Problem]:
    if not key:
        yield Problem(
            _identity_location(origin, named_by),
            f"cannot make a key from this {kind}'s {named_by}; add a `key:` (like 'review-2')",
        )


def check_field(item: Field) -> Iterator[Problem]:
    yield from _check_empty_key(item.key, item.origin, "field", "label")
    here = item.origin
    if item.type in CHOICE_TYPES and not item.options:
        yield Problem(_where(here), f"a {item.type} field needs `options:` listing its choices")
    if item.type == "radio" and len(item.options) == 1:
        yield Problem(_where(here, "options"), "a radio field needs at least two options")
    if item.type not in CHOICE_TYPES and item.options:
        yield Problem(
            _where(here, "options"),
            f"`options` apply to radio, dropdown and multiselect fields, not {item.type}",
        )
    if item.type == "table" and not item.columns:
        yield Problem(_where(here), "a table field needs `columns:`")
    if item.type != "table" and item.columns:
        yield Problem(_where(here, "columns"), f"`columns` apply to table fields, not {item.type}")
    yield from _check_labels_unique(item)
    yield from _check_pinned_ids(item)
    yield from _check_field_settings(item)


def _check_labels_unique(item: Field) -> Iterator[Problem]:
    for name, texts in (
        ("options", [o.text for o in item.options]),
        ("columns", [c.label for c in item.columns]),
    ):
        seen: set[str] = set()
        for index, text in enumerate(texts):
            if text in seen:
                yield Problem(
                    _where(item.origin, name, index), f"'{text}' is listed twice in `{name}`"
                )
            seen.add(text)


def _check_pinned_ids(item: Field) -> Iterator[Problem]:
    for name, ids in (
        ("options", [o.id for o in item.options]),
        ("columns", [c.id for c in item.columns]),
    ):
        seen: set[int] = set()
        for index, pinned in enumerate(ids):
            if pinned is None:
                continue
            if pinned in seen:
                yield Problem(
                    _where(item.origin, name, index, "id"), f"id {pinned} is used twice in `{name}`"
                )
            seen.add(pinned)


def _check_field_settings(item: Field) -> Iterator[Problem]:
    if "default_value" in item.settings and item.type in _NO_DEFAULT_TYPES:
        yield Problem(
            _where(item.origin, "default_value"), f"a {item.type} field cannot have a default value"
        )
    if "collect_time" in item.settings and item.type != "date":
        yield Problem(
            _where(item.origin, "collect_time"), "`collect_time` applies to date fields only"
        )
    if "use_wysiwyg_editor" in item.settings and item.type != "textarea":
        yield Problem(
            _where(item.origin, "use_wysiwyg_editor"),
            "`use_wysiwyg_editor` applies to textarea fields only",
        )


def check_people(people: Assignees, origin: Origin | None, *path: str | int) -> Iterator[Problem]:
    for bucket in ("users", "guests"):
        for index, email in enumerate(getattr(people, bucket)):
            if not _EMAIL.match(email):
                yield Problem(
                    _where(origin, *path, bucket, index),
                    f"'{email}' is not an email address; {bucket} are named by email",
                )


def check_step(step: Step, names: DeclaredKeys) -> Iterator[Problem]:
    yield from _check_empty_key(step.key, step.origin, "step", "title")
    yield from check_people(step.assignees, step.origin, "assignees")
    deadline = step.deadline
    if deadline is not None and deadline.step is not None:
        if deadline.step == step.key:
            yield Problem(
                _where(step.origin, "deadline", "step"),
                "a step's deadline cannot count from itself",
            )
        elif deadline.step not in names.steps and names.steps_known:
            yield Problem(
                _where(step.origin, "deadline", "step"),
                f"no step has the key '{deadline.step}'; "
                + suggest.advice(deadline.step, names.steps, "steps here"),
            )
    for item in step.fields:
        yield from check_field(item)


def _check_condition(
    rule: Rule, index: int, names: DeclaredKeys, fields: dict[str, Field]
) -> Iterator[Problem]:
    condition = rule.when[index]
    raw = _raw(rule.origin, "when", index)
    here = _where(rule.origin, "when", index)
    if ("field" in raw) == ("step" in raw):
        yield Problem(here, "a condition names exactly one `field:` or one `step:`")
        return
    subject = condition.subject
    known, complete = (
        (names.fields, names.fields_known)
        if subject == "field"
        else (names.steps, names.steps_known)
    )
    if condition.key not in known and complete:
        yield Problem(
            _where(rule.origin, "when", index, subject),
            f"no {subject} has the key '{condition.key}'; "
            + suggest.advice(condition.key, known, f"{subject}s here"),
        )
    is_step_op = condition.operation in STEP_OPERATIONS
    if is_step_op != (subject == "step"):
        kind = "steps" if is_step_op else "fields"
        yield Problem(
            _where(rule.origin, "when", index, "is"),
            f"'{condition.operation}' tests {kind}, not {subject}s",
        )
    if condition.operation not in VALUELESS_OPERATIONS and "value" not in raw:
        yield Problem(here, f"'{condition.operation}' needs a `value:` to compare with")
    elif subject == "field" and condition.key in fields:
        yield from _check_option_value(rule, index, fields[condition.key])


_OPTION_TESTS = {
    "radio": {"equals", "not_equals"},
    "dropdown": {"equals", "not_equals"},
    "multiselect": {"equals", "not_equals", "contains", "not_contains"},
}


def _check_option_value(rule: Rule, index: int, item: Field) -> Iterator[Problem]:
    """A choice field compared with a value none of its options has: it can never match."""
    condition = rule.when[index]
    if condition.operation not in _OPTION_TESTS.get(item.type, ()) or not item.options:
        return
    texts = [option.text for option in item.options]
    value = condition.value
    if isinstance(value, bool) or value is None or str(value) in texts:
        return
    yield Problem(
        _where(rule.origin, "when", index, "value"),
        f"'{value}' is not an option of the {item.type} field '{item.key}' (options match "
        f"exactly, case too); " + suggest.advice(str(value), texts, "options", sort=False),
    )


def _raw(origin: Origin | None, *path: str | int) -> Any:
    assert origin is not None
    return origin.data(*path)


def _check_action(rule: Rule, index: int, names: DeclaredKeys) -> Iterator[Problem]:
    action = rule.then[index]
    raw = _raw(rule.origin, "then", index)
    here = _where(rule.origin, "then", index)
    if sum(verb in raw for verb in ACTION_VERBS) != 1:
        yield Problem(
            here,
            f"an action names exactly one of: {', '.join(ACTION_VERBS)} (with the target step's key)",
        )
        return
    if action.step not in names.steps and names.steps_known:
        yield Problem(
            _where(rule.origin, "then", index, action.verb),
            f"no step has the key '{action.step}'; "
            + suggest.advice(action.step, names.steps, "steps here"),
        )
    takes_people = action.verb in ("assign", "assign_only", "unassign")
    if takes_people and not action.assignees:
        yield Problem(here, f"`{action.verb}` needs `assignees:` naming who")
    if not takes_people and "assignees" in raw:
        yield Problem(
            _where(rule.origin, "then", index, "assignees"), f"`{action.verb}` takes no assignees"
        )
    yield from check_people(action.assignees, rule.origin, "then", index, "assignees")
    yield from _check_webhook_action(rule, index, raw)
    timing = [k for k in ("value", "unit", "option") if k in raw]
    if action.verb == "deadline":
        for missing in ("value", "unit"):
            if missing not in raw:
                yield Problem(here, f"a deadline action needs `{missing}:`")
    elif timing:
        yield Problem(
            _where(rule.origin, "then", index, timing[0]),
            f"`{timing[0]}` belongs to deadline actions only",
        )


def _check_webhook_action(rule: Rule, index: int, raw: dict[str, Any]) -> Iterator[Problem]:
    action = rule.then[index]
    if action.verb != "webhook":
        for extra in ("url", "name"):
            if extra in raw:
                yield Problem(
                    _where(rule.origin, "then", index, extra),
                    f"`{extra}` belongs to webhook actions only",
                )
        return
    if "url" not in raw:
        yield Problem(_where(rule.origin, "then", index), "a webhook action needs `url:`")
        return
    problem = web_address_problem(raw["url"])
    if problem:
        yield Problem(_where(rule.origin, "then", index, "url"), problem)


def web_address_problem(value: Any) -> str | None:
    """Why a webhook or video address is not one Tallyfy takes ("must be a valid URL")."""
    text = str(value)
    try:
        parts = urlsplit(text)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or " " in text:
        return f"'{text}' is not a web address; write it in full, like https://hooks.example.com/tallyfy"
    return None


def check_rules(template: Template, names: DeclaredKeys) -> Iterator[Problem]:
    seen: dict[str, Location] = {}
    fields = {item.key: item for item in template.all_fields()}
    for rule in template.rules:
        here = _where(rule.origin, "name")
        if rule.name in seen:
            yield Problem(
                here, f"rule name '{rule.name}' is already used on line {seen[rule.name].line}"
            )
        seen.setdefault(rule.name, here)
        for index in range(len(rule.when)):
            yield from _check_condition(rule, index, names, fields)
        for index in range(len(rule.then)):
            yield from _check_action(rule, index, names)


def _unknown_step(key: str, names: DeclaredKeys) -> str | None:
    if key in names.steps or not names.steps_known:
        return None
    return f"no step has the key '{key}'; steps here: {', '.join(sorted(names.steps))}"


def check_scenario(
    template: Template, scenario: Scenario, names: DeclaredKeys
) -> Iterator[Problem]:
    """A scenario of ``tests:`` names steps, fields and rules that exist, and only
    outcomes its steps can have."""
    origin = scenario.origin
    kickoff = {f.key for f in template.kickoff}
    steps = {s.key: s for s in template.steps}
    fields = {f.key: f for f in template.all_fields()}
    for key, value in scenario.kickoff:
        if key not in kickoff and names.fields_known:
            yield Problem(
                _where(origin, "kickoff", key),
                f"no kick-off field has the key '{key}'; kick-off fields: "
                f"{', '.join(sorted(kickoff)) or 'none'}",
            )
        elif key in fields:
            yield from _check_answer(fields[key], value, origin, "kickoff", key)
    for event in scenario.events:
        unknown = _unknown_step(event.step, names)
        if unknown:
            yield Problem(_where(event.origin, "step"), unknown)
            continue
        step = steps.get(event.step)
        if step is None:
            continue
        if event.outcome in ("approved", "rejected") and step.type != "approval":
            yield Problem(
                _where(event.origin, "is"),
                f"only approval steps are {event.outcome}; '{step.key}' is a {step.type} step "
                "(write `is: completed`)",
            )
        own = {f.key for f in step.fields}
        for key, value in event.values:
            if key in own:
                yield from _check_answer(fields[key], value, event.origin, "fields", key)
            else:
                yield Problem(
                    _where(event.origin, "fields", key),
                    f"step '{step.key}' has no form field '{key}'; its fields: "
                    f"{', '.join(sorted(own)) or 'none'}",
                )
    expect = scenario.expect
    listed: list[tuple[str, tuple[str | int, ...]]] = [
        *((key, ("shown", i)) for i, key in enumerate(expect.shown)),
        *((key, ("hidden", i)) for i, key in enumerate(expect.hidden)),
        *((key, ("assignees", key)) for key, _ in expect.assignees),
        *((key, ("deadlines", key)) for key, _ in expect.deadlines),
    ]
    for key, path in listed:
        unknown = _unknown_step(key, names)
        if unknown:
            yield Problem(_where(origin, "expect", *path), unknown)
    both = set(expect.shown) & set(expect.hidden)
    for index, key in enumerate(expect.hidden):
        if key in both:
            yield Problem(
                _where(origin, "expect", "hidden", index),
                f"step '{key}' is expected both shown and hidden",
            )
    rules = {rule.name for rule in template.rules}
    for index, name in enumerate(expect.fired or ()):
        if name not in rules:
            yield Problem(
                _where(origin, "expect", "fired", index),
                f"no rule is named '{name}'; rules: {', '.join(sorted(rules)) or 'none'}",
            )


def _check_answer(
    item: Field, value: Any, origin: Origin | None, *path: str | int
) -> Iterator[Problem]:
    """A choice field's answer is one of its options (a checkbox field's: a list of them)."""
    if item.type not in CHOICE_TYPES or not item.options or value is None:
        return
    options = [o.text for o in item.options]
    given = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
    for index, answer in given:
        text = "true" if answer is True else "false" if answer is False else str(answer)
        if text.lower() not in {o.lower() for o in options}:
            where = (*path, index) if index is not None else path
            yield Problem(
                _where(origin, *where),
                f"'{text}' is not an option of field '{item.key}' ({', '.join(options)})",
            )
    if isinstance(value, list) and item.type != "multiselect":
        yield Problem(_where(origin, *path), f"a {item.type} field takes one answer, not a list")


def check_scenarios(template: Template, names: DeclaredKeys | None = None) -> Iterator[Problem]:
    """Problems of a template's scenarios, for ``tallyform test``: not ``validate``'s, so
    that a scenario left behind by a change never stops a plan or an apply."""
    names = names or DeclaredKeys.of(template)
    seen: dict[str, Location] = {}
    for scenario in template.tests:
        here = _where(scenario.origin, "name")
        if scenario.name in seen:
            yield Problem(
                here,
                f"test name '{scenario.name}' is already used on line {seen[scenario.name].line}",
            )
        seen.setdefault(scenario.name, here)
        yield from check_scenario(template, scenario, names)


def check_template(template: Template, names: DeclaredKeys | None = None) -> list[Problem]:
    """Every semantic problem of one template, sorted by location.

    ``names`` are the keys references may name (by default, the template's own).
    """
    names = names or DeclaredKeys.of(template)
    problems: list[Problem] = []
    problems += _duplicates(((s.key, s.origin) for s in template.steps), "step", "title")
    problems += _duplicates(((f.key, f.origin) for f in template.all_fields()), "field", "label")
    problems += check_people(template.access, template.origin, "access")
    for item in template.kickoff:
        problems += check_field(item)
    for step in template.steps:
        problems += check_step(step, names)
    problems += _web_addresses(template)
    problems += _lock_tags(template)
    problems += check_rules(template, names)
    return sorted(set(problems))


# The title every apply lock tag begins with (tallyform.tallyfy.lock.LOCK_TITLE; a test
# keeps the two equal): a template tagged so would be taken for a lock, and its tag
# removed by every apply's release.
LOCK_TAG_PREFIX = "tallyform-apply-lock"


def _lock_tags(template: Template) -> list[Problem]:
    """A template's tag may not look like the org's apply lock."""
    if template.origin is None:
        return []
    return [
        Problem(
            template.origin.locate("tags", index),
            f"tag '{tag}' begins with '{LOCK_TAG_PREFIX}', which tallyform keeps for the "
            "org's apply lock (every apply would take it for a lock); choose another title",
        )
        for index, tag in enumerate(template.tags)
        if str(tag).strip().lower().startswith(LOCK_TAG_PREFIX)
    ]


def _web_addresses(template: Template) -> list[Problem]:
    """Template and step webhooks and the explanation video must be web addresses."""
    found: list[tuple[Any, Origin | None, tuple[str | int, ...]]] = [
        (template.settings.get(name), template.origin, (name,))
        for name in ("webhook", "explanation_video")
    ]
    found += [(step.settings.get("webhook"), step.origin, ("webhook",)) for step in template.steps]
    problems = []
    for value, origin, path in found:
        problem = web_address_problem(value) if value not in (None, "") else None
        if problem and origin is not None:
            problems.append(Problem(origin.locate(*path), problem))
    return problems


def _part(error: SchemaError) -> DataPath | None:
    """What a schema error makes unusable: a whole field or rule, or one setting of a step
    or of the template; None for unknown keys of a step or the template (nothing reads them).
    """
    path = error.path
    if (
        error.keyword == "additionalProperties"
        and (path == () or path[:1] == ("steps",))
        and len(path) <= 2
    ):
        return None
    if len(path) >= 4 and path[0] == "steps" and path[2] == "fields" and isinstance(path[3], int):
        return path[:4]
    if len(path) >= 2 and path[0] in ("kickoff", "rules", "tests") and isinstance(path[1], int):
        return path[:2]
    if len(path) >= 2 and path[0] == "steps" and isinstance(path[1], int):
        return path[:3]
    return path[:1]


def _hidden_kinds(error: SchemaError) -> set[str]:
    """The kinds of key ('steps', 'fields') a schema error may hide from view."""
    path = error.path
    if error.keyword == "additionalProperties":  # a misspelt `steps:`, `kickoff:`, `fields:`
        if path == ():
            return {"steps", "fields"}
        return {"fields"} if len(path) == 2 and path[0] == "steps" else set()
    if path[-1:] not in (("key",), ("title",), ("label",)):
        return set()
    if len(path) == 3 and path[0] == "steps":
        return {"steps"}
    in_step = len(path) == 5 and path[0] == "steps" and path[2] == "fields"
    return {"fields"} if in_step or (len(path) == 3 and path[0] == "kickoff") else set()


def _names(data: dict[str, Any], errors: list[SchemaError]) -> DeclaredKeys:
    """The keys references may name, and whether schema errors may hide some of them."""
    hidden = set().union(*(_hidden_kinds(error) for error in errors))
    declared = declared_keys(data)
    return replace(
        declared,
        steps_known=declared.steps_known and "steps" not in hidden,
        fields_known=declared.fields_known and "fields" not in hidden,
    )


def check_template_document(
    document: Document, default_key: str
) -> tuple[Template | None, list[Problem]]:
    """Schema and semantic problems of one template document, all in one pass.

    The template comes back only when there is no problem at all.
    """
    errors = schema_errors(document, "template")
    parts = (_part(error) for error in errors)
    broken = frozenset(part for part in parts if part is not None)
    template = build_template(document, default_key, broken)
    problems = [e.problem for e in errors]
    problems += check_template(template, _names(document.data, errors))
    return (None if problems else template), sorted(set(problems))


def check_template_keys(templates: list[Template]) -> list[Problem]:
    """Template keys must be unique across the whole repository."""
    return list(_duplicates(((t.key, t.origin) for t in templates), "template", "title"))
