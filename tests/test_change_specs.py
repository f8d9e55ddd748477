"""Each kind of change is one spec: every spec has one executor, and the enums stay strings.

A (kind, action) a plan can hold is an entry of ``SPECS``; the Tallyfy package carries
each out with exactly one executor keyed by that spec (org-wide ones with the org's
context, the rest within their template's run). Kinds and actions are str enums, so the
strings of a saved plan are the same values as before.
"""

from __future__ import annotations

import json

from tallyform.model.changes import Change, Plan, Snapshot
from tallyform.model.kinds import ACTIONS, KINDS, SPECS, Action, Kind, spec
from tallyform.render.common import ID_MAPS, progress_line, subject
from tallyform.tallyfy.writes import ORG_EXECUTORS, TEMPLATE_EXECUTORS


def test_every_kind_of_change_has_exactly_one_executor() -> None:
    org, template = set(ORG_EXECUTORS), set(TEMPLATE_EXECUTORS)
    assert not org & template
    assert org | template == set(SPECS.values()), "a spec with no executor, or the reverse"
    assert {s.kind for s in org} == {k for k in KINDS if k.org_wide}
    assert all(not s.kind.org_wide for s in template)


def test_every_kind_and_action_is_in_some_spec() -> None:
    assert {s.kind for s in SPECS.values()} == set(KINDS)
    assert {s.action for s in SPECS.values()} == set(ACTIONS)
    assert all((s.kind, s.action) == pair for pair, s in SPECS.items())


def test_kinds_and_actions_are_their_strings_in_files_and_words() -> None:
    change = Change("create", "step", ("t", "s"))  # as a saved plan builds it
    assert change.kind is Kind.STEP and change.action is Action.CREATE
    assert change.spec is spec(Kind.STEP, Action.CREATE)
    saved = json.loads(json.dumps(change.as_dict()))
    assert (saved["kind"], saved["action"]) == ("step", "create")
    assert f"{change.kind} {change.action}" == "step create" == f"{Kind.STEP} {Action.CREATE}"
    assert change.kind == "step" and change.action == "create"  # the strings still compare


def test_the_words_a_plan_says_come_from_the_spec() -> None:
    assert spec(Kind.TAGGING, Action.CREATE).verb == "attached"
    assert spec(Kind.TAG, Action.CREATE).verb == "created"
    assert spec(Kind.STEP, Action.REORDER).noun == "steps"
    assert spec(Kind.KICKOFF, Action.UPDATE).noun == "kick-off field"
    assert [a.symbol for a in ACTIONS] == ["+", "~", "~", "-", "~", "-", "+"]


def test_what_the_safety_share_counts_is_a_fact_of_the_spec() -> None:
    losing = sorted(f"{s.kind} {s.action}" for s in SPECS.values() if s.loses_data)
    assert losing == [
        "field delete",
        "kickoff delete",
        "rule delete",
        "step delete",
        "template archive",
    ]


def test_apply_names_a_key_setup_as_the_plan_does() -> None:
    """The plan's 'custom field key tallyform_key for templates' was apply's 'tallyform key
    for templates created': one object, two names, in one terminal."""
    for change in (Change("create", "key", ("templates",)), Change("create", "key", (ID_MAPS,))):
        planned = subject(change).split(" (")[0]
        assert progress_line(change) == f"+ {planned} created"
    assert progress_line(Change("create", "key", ("steps",))) == (
        "+ custom field key tallyform_key for steps created"
    )


def test_a_stale_plan_names_each_changed_template_once() -> None:
    """Seven templates changed in the org: one reason naming five of them and the count,
    not seven sentences on one line."""
    keys = [f"t{n}" for n in range(7)]
    saved = {key: Snapshot(f"id-{key}", None, None, "before") for key in keys}
    fresh = Plan("org", "0" * 32)
    fresh.snapshots = {key: Snapshot(f"id-{key}", None, None, "after") for key in keys}
    fresh.snapshots["t7"] = Snapshot("id-t7", None, None, "new")
    reasons = fresh.stale_since(saved, [])
    assert reasons == [
        "templates t0, t1, t2, t3, t4 and 2 more changed in the org since the plan was made",
        "template t7 is new in the org or the repository since the plan was made",
    ]
