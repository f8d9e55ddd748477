"""The emulator's answers to the open questions of issue 18, each quirk off and on, through
httpx on the in-process transport; the choice quirks, ``strict()``'s pending list and the
registry of open questions (:mod:`tallyform.emulator.questions`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tallyform.emulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_MEMBER_TOKEN,
    EVERY_QUIRK,
    IN_PROCESS_URL,
    LEFT_OUT_OF_STRICT,
    QUIRK_CHOICES,
    QUIRK_NAMES,
    Emulator,
    EmulatorTransport,
    FaultSettings,
    Quirks,
)
from tallyform.emulator.directory import php_int
from tallyform.emulator.questions import BY_NAME, OPEN_QUESTIONS, question_for
from tallyform.emulator.quirks import OUTSIDE_STRICT, STRICT_CHOICES
from tests.client_helpers import FakeTime
from tests.conftest import run_cli
from tests.emulator_helpers import (
    application_token,
    auth,
    connect,
    data,
    errors,
    new_capture,
    new_step,
    new_template,
    served,
)

KEY = "tallyform_key"


@contextmanager
def emulated(*names: str, **options: Any) -> Iterator[httpx.Client]:
    """An in-process client (the admin's token) on a fresh org with the named quirks."""
    with connect(Emulator(quirks=Quirks.named(names), **options), "in_process") as client:
        yield client


def _kickoff(label: str) -> dict[str, Any]:
    return {"label": label, "field_type": "text", "required": False}


def _keyed(
    api: httpx.Client, kinds: tuple[str, ...] = ("checklist", "step", "capture", "prerun")
) -> dict[str, Any]:
    """A template with a kick-off field, a step and a form field, each keyed."""
    for kind in kinds:
        body = {"key": KEY, "applies_to": kind, "field_type": "text"}
        data(api.post("/custom-field-keys", json=body), 201)
    template = new_template(api, prerun=[_kickoff("Amount")])
    step = new_step(api, template["id"])
    capture = new_capture(api, template["id"], step["id"])
    base = f"/checklists/{template['id']}"
    urls = {
        "template": base,
        "prerun": f"{base}/preruns/{template['prerun'][0]['id']}",
        "step": f"{base}/steps/{step['id']}",
        "capture": f"{base}/steps/{step['id']}/captures/{capture['id']}",
    }
    for name, url in urls.items():
        data(api.put(f"{url}/custom-fields", json={"custom_fields": {KEY: name}}))
    return {"template": template, "step": step, "capture": capture, "base": base}


def _row(api: httpx.Client) -> dict[str, Any]:
    rows = data(api.get("/checklists", params={"with": "steps,tags,folder"}))
    assert len(rows) == 1
    found: dict[str, Any] = rows[0]
    return found


# Quirks: switches, choices, strict ---------------------------------------------------------


def test_choice_quirks_take_name_equals_choice_and_round_trip_through_on() -> None:
    assert QUIRK_CHOICES == {
        "partial_custom_fields": ("present", "absent", "null"),
        "list_with_refused": ("accepted", "400", "422", "500"),
        "empty_string": ("clears", "refused", "ignored"),
    }
    assert Quirks().empty_string == "clears"
    picked = Quirks.named(["empty_string=ignored", "page_drift", "list_with_refused"])
    assert picked.empty_string == "ignored" and picked.page_drift
    assert picked.list_with_refused == STRICT_CHOICES["list_with_refused"] == "422"
    assert picked.on() == ("list_with_refused=422", "empty_string=ignored", "page_drift")
    assert Quirks.named(picked.on()) == picked
    with pytest.raises(ValueError, match="one of clears, refused, ignored, not 'wiped'"):
        Quirks.named(["empty_string=wiped"])
    with pytest.raises(ValueError, match="page_drift is a switch"):
        Quirks.named(["page_drift=yes"])
    with pytest.raises(ValueError, match="unknown emulator quirks: nope"):
        Quirks.named(["nope=1"])
    with pytest.raises(ValueError, match="empty_string is one of"):
        Quirks(empty_string="wiped")  # type: ignore[arg-type]


def test_strict_leaves_out_the_pending_quirks_and_every_quirk_switches_alone() -> None:
    assert set(LEFT_OUT_OF_STRICT) <= set(EVERY_QUIRK)
    assert OUTSIDE_STRICT == ("nested_steps_built",)
    assert (
        tuple(q for q in EVERY_QUIRK if q not in LEFT_OUT_OF_STRICT and q not in OUTSIDE_STRICT)
        == QUIRK_NAMES
    )
    strict = Quirks.strict()
    for name in EVERY_QUIRK:
        alone = Quirks.named([name])
        assert len(alone.on()) == 1 and alone.on()[0].split("=")[0] == name
        assert (getattr(strict, name) == getattr(Quirks(), name)) == (name not in QUIRK_NAMES)


def test_serve_lists_every_quirk_with_its_choices_and_refuses_a_bad_choice() -> None:
    shown = run_cli("emulator", "serve", "--help").stdout
    for name in EVERY_QUIRK:
        assert name in shown
    assert "=clears (default), refused (strict), ignored" in shown
    assert "--quirk NAME[=CHOICE]" in shown
    refused = run_cli("emulator", "serve", "--quirk", "empty_string=wiped")
    assert refused.exit_code != 0 and "clears, refused, ignored" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_every_quirk_answers_one_open_question_and_every_question_is_listed() -> None:
    assert set(BY_NAME) == set(EVERY_QUIRK)
    names = [q.name for q in OPEN_QUESTIONS if q.name is not None]
    assert len(names) == len(set(names)), "each probe check runs once"
    refs = {ref for q in OPEN_QUESTIONS for ref in q.refs}
    assert {f"9.{n}" for n in range(1, 27)} | {f"10.{n}" for n in range(1, 11)} <= refs
    for question in OPEN_QUESTIONS:
        assert question.question.endswith("?") and question.likeliest and question.source
        assert question.probe_check == question.quirk == question.name
    assert question_for("empty_string").refs == ("10.2", "W4", "W8")


# Custom fields -----------------------------------------------------------------------------


def _seen(record: dict[str, Any], name: str) -> str:
    """One letter for a record's custom_fields: V its value, A absent, N null."""
    if "custom_fields" not in record:
        return "A"
    if record["custom_fields"] is None:
        return "N"
    assert record["custom_fields"] == {KEY: name}
    return "V"


def _levels(api: httpx.Client, made: dict[str, Any]) -> str:
    """What each read shows at each level, as four groups of letters: the list row
    (template, kick-off entry, step, form field), the template's GET with=steps (the same),
    the steps list (step, form field) and the step's GET (step, form field)."""
    row = _row(api)
    whole = data(api.get(made["base"], params={"with": "steps"}))
    listed = data(api.get(f"{made['base']}/steps"))[0]
    step = data(api.get(f"{made['base']}/steps/{made['step']['id']}"))

    def four(template: dict[str, Any]) -> str:
        nested = template["steps"]["data"][0]
        return "".join(
            _seen(record, name)
            for record, name in (
                (template, "template"),
                (template["prerun"][0], "prerun"),
                (nested, "step"),
                (nested["captures"][0], "capture"),
            )
        )

    def two(record: dict[str, Any]) -> str:
        return _seen(record, "step") + _seen(record["captures"][0], "capture")

    return " ".join((four(row), four(whole), two(listed), two(step)))


@pytest.mark.parametrize(
    ("quirk", "levels"),
    [
        (None, "VVVV VVVV VV VV"),
        ("no_custom_fields_in_lists", "AAAA VVAA AA VV"),
        ("prerun_without_custom_fields", "VAVV VVVV VV VV"),
        ("captures_without_custom_fields", "VVVA VVVA VA VV"),
        ("partial_custom_fields=absent", "VAAA VVVV VV VV"),
        ("partial_custom_fields=null", "VNNN VVVV VV VV"),
        ("custom_fields_null", "VVVV VVVV VV VV"),  # the admin is a member: values shown
    ],
)
def test_custom_fields_show_at_each_level_as_each_quirk_says(
    quirk: str | None, levels: str
) -> None:
    with emulated(*([quirk] if quirk else [])) as api:
        assert _levels(api, _keyed(api)) == levels


def test_custom_fields_null_hides_values_from_an_applications_own_token_only() -> None:
    emulator = Emulator(quirks=Quirks.named(["custom_fields_null"]))
    with connect(emulator, "in_process") as admin:
        made = _keyed(admin)
    app = application_token(emulator)
    with httpx.Client(transport=EmulatorTransport(emulator), base_url=IN_PROCESS_URL) as raw:
        url = f"/applications/{emulator.org_id}/users/bob@example.com/token"
        minted = raw.post(url, headers=auth(app)).json()["access_token"]
    with connect(emulator, "in_process", token=minted) as member:
        assert _levels(member, made) == "VVVV VVVV VV VV", "a token minted for a member sees"
    with connect(emulator, "in_process", token=app) as api:
        assert _levels(api, made) == "NNNN NNNN NN NN"
        written = api.put(f"{made['base']}/custom-fields", json={"custom_fields": {KEY: "t2"}})
        assert written.status_code == 200 and written.json()["data"]["custom_fields"] is None
        assert data(api.post("/tags", json={"title": "x"}), 201)["custom_fields"] is None
        assert data(api.get("/me"))["custom_fields"] is None
        assert {u["custom_fields"] for u in data(api.get("/users"))} == {None}
    kept = emulator.state["checklists"][made["template"]["id"]]
    assert kept["custom_fields"] == {KEY: "t2"}, "written, only unseen"
    with connect(emulator, "in_process") as admin:
        assert data(admin.get(made["base"]))["custom_fields"] == {KEY: "t2"}
        assert data(admin.get("/me"))["custom_fields"] == {}


def test_custom_field_write_forbidden_refuses_a_member_but_not_an_admin() -> None:
    for forbidden in (False, True):
        names = ("custom_field_write_forbidden",) if forbidden else ()
        emulator = Emulator(quirks=Quirks.named(names))
        with connect(emulator, "in_process") as admin:
            made = _keyed(admin)
        with connect(emulator, "in_process", token=DEFAULT_MEMBER_TOKEN) as member:
            answer = member.put(f"{made['base']}/custom-fields", json={"custom_fields": {KEY: "m"}})
            assert answer.status_code == (403 if forbidden else 200), answer.text


def test_applies_to_ui_names_refuses_the_api_nouns() -> None:
    def created(api: httpx.Client, kind: str) -> int:
        body = {"key": f"k_{kind}", "applies_to": kind, "field_type": "text"}
        return api.post("/custom-field-keys", json=body).status_code

    with emulated() as api:
        assert [created(api, k) for k in ("checklist", "capture", "prerun", "step")] == [201] * 4
        assert created(api, "template") == 422
    with emulated("applies_to_ui_names") as api:
        for noun in ("checklist", "capture", "prerun"):
            assert "applies_to" in errors(
                api.post(
                    "/custom-field-keys",
                    json={"key": "k", "applies_to": noun, "field_type": "text"},
                )
            )
        made = _keyed(api, ("template", "step", "form_field", "kickoff_field"))
        assert _levels(api, made) == "VVVV VVVV VV VV", "values under keys named the UI's way"
        listed = data(api.get("/custom-field-keys", params={"applies_to": "form_field"}))
        assert [k["applies_to"] for k in listed] == ["form_field"]
        assert data(api.get(made["base"]))["custom_fields"] == {KEY: "template"}


# The template list ---------------------------------------------------------------------------


@pytest.mark.parametrize(("choice", "status"), [("400", 400), ("422", 422), ("500", 500)])
def test_list_with_refused_answers_an_error_to_with(choice: str, status: int) -> None:
    with emulated() as api:
        new_template(api)
        assert api.get("/checklists", params={"with": "steps,tags,folder"}).status_code == 200
    with emulated(f"list_with_refused={choice}") as api:
        new_template(api)
        answer = api.get("/checklists", params={"with": "steps,tags,folder"})
        assert answer.status_code == status
        if status == 422:
            assert errors(answer) == {"with": ["The selected with is invalid."]}
        steps_only = api.get("/checklists", params={"with": "steps"}).status_code
        assert steps_only == (500 if choice == "500" else 200), "only tags is unknown to a 4xx"
        assert len(data(api.get("/checklists"))) == 1, "without with, the list answers"


def test_thin_listed_steps_lack_deadline_assignees_and_settings() -> None:
    thick = {"deadline": {"value": 2, "unit": "days", "option": "from", "step": "start_run"}}
    for thin in (False, True):
        with emulated(*(["thin_listed_steps"] if thin else [])) as api:
            template = new_template(api)
            step = new_step(
                api, template["id"], assignees=[1], everyone_must_complete=True, **thick
            )
            new_capture(api, template["id"], step["id"])
            listed = _row(api)["steps"]["data"][0]
            for key in ("deadline", "assignees", "everyone_must_complete", "groups"):
                assert (key in listed) is not thin, key
            assert listed["title"] == "Step" and len(listed["captures"]) == 1
            whole = data(api.get(f"/checklists/{template['id']}", params={"with": "steps"}))
            assert whole["steps"]["data"][0]["deadline"]["value"] == 2


def test_page_drift_shows_a_row_twice_and_misses_another_reproducibly() -> None:
    def read(seed: int, *names: str) -> list[int]:
        """Three pages of 10 of 25 templates, each row as its place in the list unpaged."""
        emulator = Emulator(quirks=Quirks.named(names), faults=FaultSettings(seed=seed))
        with connect(emulator, "in_process") as api:
            for number in range(25):
                new_template(api, title=f"T{number:02}")
            unpaged = [row["id"] for row in data(api.get("/checklists", params={"per_page": 100}))]
            return [
                unpaged.index(row["id"])
                for page in (1, 2, 3)
                for row in data(api.get("/checklists", params={"per_page": 10, "page": page}))
            ]

    assert read(0) == list(range(25))
    drifted = read(0, "page_drift")
    assert len(drifted) == 25 and drifted[:10] == list(range(10)), "page 1 reads before a move"
    assert len(set(drifted)) < 25, "a row seen twice, so another missed"
    assert read(0, "page_drift") == drifted, "the same seed drifts the same way"


# Writes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("choice", ["clears", "refused", "ignored"])
def test_empty_string_clears_is_refused_or_is_ignored(choice: str) -> None:
    with emulated(f"empty_string={choice}") as api:
        template = new_template(api, webhook="https://hooks.example.com/x")
        base = f"/checklists/{template['id']}"
        cleared = api.put(base, json={"title": "Template", "webhook": "", "summary": ""})
        step = new_step(api, template["id"], deadline={"value": 1, "unit": "days"})
        step_url = f"{base}/steps/{step['id']}"
        step_cleared = api.put(step_url, json={"title": "Step", "deadline": ""})
        if choice == "refused":
            assert errors(cleared) == {
                "webhook": ["The webhook must be a valid URL."],
                "summary": ["The summary must be a string."],
            }
            assert errors(step_cleared) == {"deadline": ["The deadline must be an array."]}
        else:
            assert cleared.status_code == 200 and step_cleared.status_code == 200
        webhook = data(api.get(base))["webhook"]
        deadline = data(api.get(step_url))["deadline"]
        if choice == "clears":
            assert webhook is None and deadline is None
        else:
            assert webhook == "https://hooks.example.com/x" and deadline["value"] == 1
        rule = {
            "automated_alias": "r",
            "conditions": [
                {
                    "conditionable_id": step["id"],
                    "conditionable_type": "Step",
                    "operation": "completed",
                    "statement": "",
                }
            ],
            "then_actions": [
                {"action_type": "visibility", "action_verb": "show", "target_step_id": step["id"]}
            ],
        }
        made = data(api.post(f"{base}/automated-actions", json=rule), 201)
        assert made["conditions"][0]["statement"] is None, "a nullable statement's '' is null"


def _rule(step_id: str, operation: str, condition_id: str | None = None) -> dict[str, Any]:
    condition = {
        "conditionable_id": step_id,
        "conditionable_type": "Step",
        "operation": operation,
        "statement": "any_time",
    }
    if condition_id is not None:
        condition["id"] = condition_id
    return {
        "automated_alias": "r",
        "conditions": [condition],
        "then_actions": [
            {"action_type": "visibility", "action_verb": "show", "target_step_id": step_id}
        ],
    }


def test_rule_put_appends_conditions_and_actions_without_ids() -> None:
    for appends in (False, True):
        with emulated(*(["rule_put_appends"] if appends else [])) as api:
            template = new_template(api)
            step = new_step(api, template["id"])
            url = f"/checklists/{template['id']}/automated-actions"
            rule = data(api.post(url, json=_rule(step["id"], "completed")), 201)
            put = data(api.put(f"{url}/{rule['id']}", json=_rule(step["id"], "reopened")))
            operations = [c["operation"] for c in put["conditions"]]
            assert operations == (["completed", "reopened"] if appends else ["reopened"])
            assert len(put["then_actions"]) == (2 if appends else 1)
            if appends:
                first = put["conditions"][0]["id"]
                sent = _rule(step["id"], "approved", first)
                again = data(api.put(f"{url}/{rule['id']}", json=sent))
                assert [(c["id"] == first, c["operation"]) for c in again["conditions"]] == [
                    (True, "approved"),
                    (False, "reopened"),
                ], "a condition with a known id is updated in place, the rest stay"
                assert [c["position"] for c in again["conditions"]] == [1, 2]


def test_prerun_dropped_on_create_needs_a_put_for_kickoff_fields() -> None:
    with emulated() as api:
        assert len(new_template(api, prerun=[_kickoff("A")])["prerun"]) == 1
    with emulated("prerun_dropped_on_create") as api:
        template = new_template(api, prerun=[_kickoff("A"), {"label": "no type"}])
        assert template["prerun"] == [], "dropped before any check, like an unknown key"
        put = api.put(
            f"/checklists/{template['id']}", json={"title": "T", "prerun": [_kickoff("A")]}
        )
        assert len(data(put)["prerun"]) == 1


def _blueprint() -> dict[str, Any]:
    field = {"label": "Vendor", "field_type": "text", "required": True}
    return {
        "title": "Whole",
        "type": "procedure",
        "steps": [
            {
                "title": "Submit",
                "step_type": "task",
                "captures": [field, {**field, "label": "Cost"}],
            },
            {"title": "Approve", "step_type": "approval", "captures": {"data": []}},
        ],
    }


def test_nested_steps_are_ignored_by_default_and_built_under_the_quirk() -> None:
    with emulated() as api:
        made = data(api.post("/checklists", json=_blueprint()), 201)
        assert made["steps_count"] == 0
    with emulated("nested_steps_built") as api:
        made = data(api.post("/checklists", params={"with": "steps"}, json=_blueprint()), 201)
        steps = made["steps"]["data"]
        assert [(s["title"], s["position"]) for s in steps] == [("Submit", 1), ("Approve", 2)]
        assert [c["label"] for c in steps[0]["captures"]] == ["Vendor", "Cost"]
        assert [c["position"] for c in steps[0]["captures"]] == [1, 2]
        read = data(api.get(f"/checklists/{made['id']}", params={"with": "steps"}))
        assert read["steps"]["data"] == steps
        broken = _blueprint()
        broken["steps"][0]["captures"][1] = {"field_type": "text", "required": True}
        broken["steps"][1]["title"] = ""
        assert set(errors(api.post("/checklists", json=broken))) == {
            "steps.0.captures.1.label",
            "steps.1.title",
        }
        assert len(data(api.get("/checklists"))) == 1, "a refused create makes nothing"


# Tags ------------------------------------------------------------------------------------------


def _tagged(api: httpx.Client, title: str) -> tuple[dict[str, Any], dict[str, Any]]:
    template = new_template(api, title=title)
    tag = data(api.post("/tags", json={"title": title}), 201)
    body = {
        "subject_id": template["id"],
        "subject_type": "Checklist",
        "tag_id": tag["id"],
        "tag_type": "private",
    }
    data(api.post("/checklists/tags", json=body), 201)
    return template, tag


def _tag_items(api: httpx.Client, template: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = data(
        api.get(f"/checklists/{template['id']}", params={"with": "tags"})
    )["tags"]["data"]
    return found


def test_tags_without_tag_id_and_a_hex_id_detaching_another_templates_tag() -> None:
    crafted = "1" + "a" * 31  # a tag hex id whose leading digit PHP reads as link 1
    with emulated() as api:
        first, _ = _tagged(api, "first")
        second, tag = _tagged(api, "second")
        assert _tag_items(api, second) == [
            {"id": 2, "tag_id": tag["id"], "title": "second", "color": tag["color"]}
        ]
        assert api.delete(f"/checklists/tags/{crafted}").status_code == 404
        assert len(_tag_items(api, first)) == 1
    with emulated("tags_without_tag_id") as api:
        first, _ = _tagged(api, "first")
        second, tag = _tagged(api, "second")
        assert _tag_items(api, second) == [
            {"id": tag["id"], "title": "second", "color": tag["color"]}
        ]
        assert api.delete(f"/checklists/tags/{crafted}").status_code == 200
        assert _tag_items(api, first) == [], "the first template's tag went, not the second's"
        assert len(_tag_items(api, second)) == 1
    assert [php_int(raw) for raw in ("12ab", "1e3f", "ab12", " 7", "")] == [12, 1000, 0, 7, 0]


def test_deleted_tags_keep_their_title_taken() -> None:
    for soft in (False, True):
        with emulated(*(["deleted_tags_keep_title"] if soft else [])) as api:
            template, tag = _tagged(api, "tallyform-apply-lock")
            assert api.delete(f"/tags/{tag['id']}").status_code == 200
            assert api.get(f"/tags/{tag['id']}").status_code == 404
            assert data(api.get("/tags")) == [] and _tag_items(api, template) == []
            again = api.post("/tags", json={"title": "tallyform-apply-lock"})
            if soft:
                assert errors(again) == {"title": ["The title has already been taken."]}
            else:
                assert again.status_code == 201
            body = {
                "subject_id": template["id"],
                "subject_type": "Checklist",
                "tag_id": tag["id"],
                "tag_type": "private",
            }
            assert "tag_id" in errors(api.post("/checklists/tags", json=body))


# Rate limits and OAuth ---------------------------------------------------------------------------


def _statuses(api: httpx.Client, count: int) -> list[int]:
    return [api.get("/me").status_code for _ in range(count)]


def test_low_rate_limit_throttles_bursts_then_the_minute_then_the_hour() -> None:
    clock = FakeTime()
    with emulated(clock=clock) as api:
        assert set(_statuses(api, 150)) == {200}, "no limit by default in-process"
    clock = FakeTime()
    with emulated("low_rate_limit", clock=clock) as api:
        first = api.get("/me")
        assert (first.headers["X-RateLimit-Limit"], first.headers["X-RateLimit-Remaining"]) == (
            "100",
            "99",
        )
        assert _statuses(api, 10) == [200] * 9 + [429], "a burst throttle: 10 a second"
        burst = api.get("/me")
        assert (burst.status_code, burst.headers["Retry-After"]) == (429, "1")
        for _ in range(9):
            clock.sleep(1.0)
            assert set(_statuses(api, 10)) == {200}
        clock.sleep(1.0)
        minute = api.get("/me")
        assert minute.status_code == 429 and minute.headers["X-RateLimit-Limit"] == "100"
        assert 45 <= int(minute.headers["Retry-After"]) <= 60
        for _ in range(9):  # 900 more, a minute's 100 at a time, ten a second
            clock.sleep(60.0)
            for _ in range(10):
                clock.sleep(1.0)
                assert set(_statuses(api, 10)) == {200}
        clock.sleep(60.0)
        hour = api.get("/me")
        assert hour.status_code == 429 and hour.headers["X-RateLimit-Limit"] == "1000"
        assert int(hour.headers["Retry-After"]) > 120, "longer than a client's retry cap"


def test_low_rate_limit_composes_with_the_per_token_limit() -> None:
    clock = FakeTime()
    with emulated("low_rate_limit", clock=clock, rate_limit=3) as api:
        answers = [api.get("/me") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert answers[3].headers["X-RateLimit-Limit"] == "3"
        assert answers[2].headers["X-RateLimit-Remaining"] == "97", "the refused one not counted"


def _token(emulator: Emulator, path: str) -> httpx.Response:
    form = {
        "grant_type": "client_credentials",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "scope": "*",
    }
    root = IN_PROCESS_URL.removesuffix("/api")
    with httpx.Client(transport=EmulatorTransport(emulator)) as http:
        return http.post(f"{root}{path}", data=form)


def test_oauth_account_host_serves_the_token_only_at_the_account_host() -> None:
    default = Emulator()
    assert _token(default, "/oauth/token").status_code == 200
    assert _token(default, "/account/oauth/token").status_code == 200
    moved = Emulator(quirks=Quirks.named(["oauth_account_host"]))
    assert _token(moved, "/oauth/token").status_code == 404
    issued = _token(moved, "/account/oauth/token")
    assert issued.status_code == 200
    with httpx.Client(transport=EmulatorTransport(moved)) as http:
        me = http.get(f"{IN_PROCESS_URL}/me", headers=auth(issued.json()["access_token"]))
        assert me.status_code == 200


def test_the_new_writes_are_kept_in_the_state_file(tmp_path: Path) -> None:
    """Nested steps, soft-deleted tags and merged rules survive a restart (every write is
    also checked against the file by the suite's autouse fixture)."""
    path = tmp_path / "org.json"
    names = ["nested_steps_built", "deleted_tags_keep_title", "rule_put_appends"]
    emulator = Emulator(state_file=path, quirks=Quirks.named(names))
    with connect(emulator, "in_process") as api:
        made = data(api.post("/checklists", json=_blueprint()), 201)
        _, tag = _tagged(api, "lock")
        assert api.delete(f"/tags/{tag['id']}").status_code == 200
        step_id = emulator.state["checklists"][made["id"]]["steps"][0]["id"]
        url = f"/checklists/{made['id']}/automated-actions"
        rule = data(api.post(url, json=_rule(step_id, "completed")), 201)
        data(api.put(f"{url}/{rule['id']}", json=_rule(step_id, "reopened")))
    assert Emulator(state_file=path).state == emulator.state


def test_strict_with_named_quirks_takes_both() -> None:
    every = Quirks.named(["strict", *LEFT_OUT_OF_STRICT])
    assert {name.split("=")[0] for name in every.on()} == set(EVERY_QUIRK) - {"nested_steps_built"}
    assert Quirks.named(["strict", "empty_string=ignored"]).empty_string == "ignored"
    assert Quirks.named(["empty_string=ignored", "strict"]).empty_string == "ignored"


def test_served_strict_and_quirks_with_choices_take_both() -> None:
    args = ("--strict", "--quirk", "empty_string=ignored", "--quirk", "oauth_account_host")
    with served(*args, "--rate-limit", "0") as (process, url):
        assert process.stdout is not None
        assert process.stdout.readline().startswith("organization ")
        banner = process.stdout.readline().strip()
        taken = Quirks.named(["strict", "empty_string=ignored", "oauth_account_host"])
        assert taken.empty_string == "ignored" and taken.list_with_refused == "422"
        assert banner == "pessimistic answers: " + ", ".join(taken.on())
        root = url.split("/api/")[0]
        with httpx.Client(timeout=10) as http:
            assert http.post(f"{root}/oauth/token", data={}).status_code == 404
            assert http.post(f"{root}/account/oauth/token", data={}).status_code == 400
        with httpx.Client(base_url=url, headers=auth(), timeout=10) as api:
            template = new_template(api, summary="kept")
            put = api.put(f"/checklists/{template['id']}", json={"title": "T", "summary": ""})
            assert data(put)["summary"] == "kept"
