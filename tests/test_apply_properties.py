"""Property: for random templates and random edits of them, apply then plan is empty.

Versions share a small pool of step and field keys, so a second version updates, moves,
retypes, reorders, deletes and creates objects of the first.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tallyform.client import StaticToken, TallyfyClient
from tallyform.config.build import build_template
from tallyform.config.schema import check_against_schema
from tallyform.config.semantics import check_template
from tallyform.config.source import parse_text
from tallyform.emulator import (
    DEFAULT_MEMBER_TOKEN,
    DEFAULT_TOKEN,
    IN_PROCESS_URL,
    Emulator,
    EmulatorServer,
    EmulatorTransport,
    Quirks,
)
from tallyform.emulator.validation import FIELD_TYPES, STEP_TYPES
from tallyform.engine import make_plan
from tallyform.engine.apply import KeySetupRefused, apply_plan
from tallyform.model import Template

STEP_KEYS = ["s1", "s2", "s3", "s4", "s5"]
FIELD_KEYS = [f"f{i}" for i in range(1, 9)]
WORDS = ["Alpha", "Beta", "Gamma", "Delta", "Epsilon"]
FOLDERS = [None, "Ops", "Ops/Finance", "Ops/Finance/Payables", "Sales/EMEA/North"]
# Where the org builds the steps nested in a template's create (a reading outside strict),
# a new template is made in one POST, as the org's probe would have tallyform do.
QUIRKS = {
    "likeliest": Quirks(),
    "strict": Quirks.strict(),
    "nested": Quirks(nested_steps_built=True),
    "strict, nested": Quirks.named(["strict", "nested_steps_built"]),
}


@st.composite
def fields(draw: st.DrawFn, keys: list[str]) -> list[dict[str, Any]]:
    out = []
    for key in keys:
        kind = draw(st.sampled_from(FIELD_TYPES))
        item: dict[str, Any] = {
            "key": key,
            "label": f"{draw(st.sampled_from(WORDS))} {key}",
            "type": kind,
        }
        if draw(st.booleans()):
            item["required"] = True
        if kind in ("radio", "dropdown", "multiselect"):
            item["options"] = draw(
                st.lists(st.sampled_from(WORDS), min_size=2, max_size=4, unique=True)
            )
        if kind == "table":
            item["columns"] = draw(
                st.lists(st.sampled_from(WORDS), min_size=1, max_size=3, unique=True)
            )
        out.append(item)
    return out


@st.composite
def template_data(draw: st.DrawFn) -> dict[str, Any]:
    step_keys = draw(st.lists(st.sampled_from(STEP_KEYS), min_size=1, max_size=4, unique=True))
    field_keys = draw(st.lists(st.sampled_from(FIELD_KEYS), max_size=6, unique=True))
    kickoff_count = draw(st.integers(0, min(2, len(field_keys))))
    data: dict[str, Any] = {"key": "random", "title": f"Random {draw(st.sampled_from(WORDS))}"}
    if kickoff_count:
        data["kickoff"] = draw(fields(field_keys[:kickoff_count]))
    rest = field_keys[kickoff_count:]
    steps = []
    for index, key in enumerate(step_keys):
        step: dict[str, Any] = {
            "key": key,
            "title": f"{draw(st.sampled_from(WORDS))} step",
            "type": draw(st.sampled_from(STEP_TYPES)),
        }
        mine = rest[index :: len(step_keys)]
        if mine:
            step["fields"] = draw(fields(mine))
        if index and draw(st.booleans()):
            step["deadline"] = {
                "value": draw(st.integers(1, 5)),
                "unit": "days",
                "step": step_keys[index - 1],
            }
        if draw(st.booleans()):
            step["assignees"] = {"groups": [draw(st.sampled_from(["Finance", "HR", "IT"]))]}
        steps.append(step)
    data["steps"] = steps
    if draw(st.booleans()):
        data["tags"] = draw(st.lists(st.sampled_from(["a", "b", "c"]), max_size=2, unique=True))
    folder = draw(st.sampled_from(FOLDERS))
    if folder:
        data["folder"] = folder
    if kickoff_count and len(step_keys) > 1 and draw(st.booleans()):
        data["rules"] = [
            {
                "name": "Hide the last step",
                "when": [{"field": field_keys[0], "is": "is_not_empty"}],
                "then": [{"hide": step_keys[-1]}],
            }
        ]
    return data


def as_template(data: dict[str, Any]) -> Template:
    document, problems = parse_text(yaml.safe_dump(data, sort_keys=False), "random.yaml")
    assert not problems and not check_against_schema(document, "template")
    template = build_template(document, "random")
    assert check_template(template) == []
    return template


def client_on(emulator: Emulator, token: str) -> TallyfyClient:
    return TallyfyClient(
        org_id=emulator.org_id,
        base_url=IN_PROCESS_URL,
        transport=EmulatorTransport(emulator),
        credentials=StaticToken(token, "TEST"),
    )


def converge(client: TallyfyClient, template: Template, emulator: Emulator | None = None) -> None:
    emulator = emulator or client.session.transport.emulator  # type: ignore[attr-defined]
    assert emulator is not None
    # Whether "" clears a value, as the org's probe finds it (tests/test_probe.py): where it
    # does not (strict), a plan that clears one is refused whole, before any write.
    clears = emulator.quirks.empty_string == "clears"
    nested = emulator.quirks.nested_steps_built
    result = make_plan(
        client, "prop", [template], clears_with_empty=clears, builds_nested_steps=nested
    )
    assert result.plan is not None and result.org is not None
    before = len(emulator.requests)
    if result.plan.blockers:
        assert not clears
        assert all(" would be cleared, " in b for b in result.plan.blockers), result.plan.blockers
        return  # `tallyform apply` refuses such a plan: nothing is written
    report = apply_plan(client, result.plan)
    assert not report.failed, [o.error for o in report.failed]
    assert report.counts() == result.plan.summary(), "apply did what the plan counted"
    writes = [r for r in emulator.requests[before:] if r["method"] != "GET"]
    sent = [(r["method"], r["path"], r["status"]) for r in writes]
    if any(r["status"] == 422 for r in writes):
        # Tallyfy refused a field's new type in place: the field was replaced, which the
        # plan lists as its likeliest cost (an update in place) plus what replacing adds.
        assert len(writes) > result.plan.writes, sent
    else:
        assert len(writes) == result.plan.writes, sent
    again = make_plan(client, "prop", [template])
    assert again.plan is not None
    assert again.plan.empty, [(c.name, c.action, c.attributes) for c in again.plan.changes]


def _alpha(
    kickoff: list[dict[str, Any]], steps: list[dict[str, Any]], rule: dict[str, Any]
) -> dict[str, Any]:
    hide = {"name": "Hide the last step", **rule}
    return {
        "key": "random",
        "title": "Random Alpha",
        "kickoff": kickoff,
        "steps": steps,
        "rules": [hide],
    }


def _step(key: str, *fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "key": key,
        "title": "Alpha step",
        "type": "task",
        **({"fields": list(fields)} if fields else {}),
    }


def _field(key: str, kind: str = "text") -> dict[str, Any]:
    return {"key": key, "label": f"Alpha {key}", "type": kind}


_FIRST = _alpha(
    [_field("f1")],
    [_step("s1", _field("f2")), _step("s2", _field("f3"))],
    {"when": [{"field": "f1", "is": "is_not_empty"}], "then": [{"hide": "s2"}]},
)
# Found by hypothesis under strict: a kick-off field retyped (so replaced) whose rule, in
# the repository, names a step not made yet, or names another field by then.
_RETYPED_RULE_NAMES_A_NEW_STEP = _alpha(
    [_field("f1", "textarea")],
    [_step("s1"), _step("s2"), _step("s3")],
    {"when": [{"field": "f1", "is": "is_not_empty"}], "then": [{"hide": "s3"}]},
)
_RETYPED_RULE_MOVES_TO_ANOTHER_FIELD = _alpha(
    [_field("f2"), _field("f1", "textarea")],
    [_step("s1"), _step("s2")],
    {"when": [{"field": "f2", "is": "is_not_empty"}], "then": [{"hide": "s2"}]},
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=template_data(), second=template_data())
@example(first=_FIRST, second=_RETYPED_RULE_NAMES_A_NEW_STEP)
@example(first=_FIRST, second=_RETYPED_RULE_MOVES_TO_ANOTHER_FIELD)
@pytest.mark.parametrize("answers", list(QUIRKS))
def test_apply_then_plan_is_empty_for_random_templates_and_edits(
    answers: str, first: dict[str, Any], second: dict[str, Any]
) -> None:
    """Whichever way Tallyfy answers the open questions (the emulator's strict mode)."""
    emulator = Emulator(quirks=QUIRKS[answers])
    client = client_on(emulator, DEFAULT_TOKEN)
    converge(client, as_template(first))
    converge(client, as_template(second))
    live = [t for t in emulator.state["checklists"].values() if t["archived_at"] is None]
    assert len(live) == 1


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=template_data(), second=template_data())
@pytest.mark.parametrize("answers", ["likeliest", "strict, nested"])  # the socket's part
def test_the_same_over_a_socket(
    answers: str, first: dict[str, Any], second: dict[str, Any]
) -> None:
    """A few of the same cases against a served emulator, through a real HTTP transport."""
    emulator = Emulator(quirks=QUIRKS[answers])
    with (
        EmulatorServer(emulator) as server,
        TallyfyClient(
            org_id=emulator.org_id,
            base_url=server.url,
            credentials=StaticToken(DEFAULT_TOKEN, "TEST"),
            timeout=10,
        ) as client,
    ):
        converge(client, as_template(first), emulator)
        converge(client, as_template(second), emulator)


def test_a_member_token_cannot_define_the_keys() -> None:
    emulator = Emulator()
    client = client_on(emulator, DEFAULT_MEMBER_TOKEN)
    template = as_template(
        {"title": "T", "steps": [{"title": "S"}], "folder": "Ops/EU", "tags": ["urgent"]}
    )
    result = make_plan(client, "prop", [template])
    assert result.plan is not None and result.org is not None
    try:
        apply_plan(client, result.plan)
    except KeySetupRefused as refusal:
        assert "only an org admin can define it" in str(refusal)
    else:
        raise AssertionError("a member must not define custom-field keys")
    assert emulator.state["checklists"] == {}, "nothing is written before the keys exist"
    assert emulator.state["folders"] == {} and emulator.state["tags"] == {}
    writes = [r for r in emulator.requests if r["method"] != "GET"]
    assert writes and all(r["path"].endswith("/custom-field-keys") for r in writes), writes
