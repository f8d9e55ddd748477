"""The emulator's pessimistic answers to the reference's open questions, switch by switch,
the CLI flags that turn them on, and write bodies in the request log (secrets masked)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tallyform.emulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    IN_PROCESS_URL,
    QUIRK_NAMES,
    Emulator,
    EmulatorTransport,
    Quirks,
)
from tests.conftest import run_cli
from tests.emulator_helpers import (
    auth,
    connect,
    data,
    errors,
    new_capture,
    new_step,
    new_template,
    served,
)


@contextmanager
def emulated(mode: str, *names: str) -> Iterator[httpx.Client]:
    """A client on a fresh org whose emulator has the named quirks on."""
    with connect(Emulator(quirks=Quirks.named(names)), mode) as client:
        yield client


def _folder(api: httpx.Client, name: str, parent: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "folder_type": "checklist"}
    if parent is not None:
        body["parent_id"] = parent["id"]
    found: dict[str, Any] = data(api.post("/folders", json=body), 201)
    return found


def _names(rows: list[dict[str, Any]]) -> list[str]:
    return [row["name"] for row in rows]


def _tree(rows: list[dict[str, Any]]) -> list[Any]:
    """Folder rows as nested (name, children) pairs, read through ``children.data``."""
    return [(row["name"], _tree(row["children"]["data"])) for row in rows]


def _three_deep(api: httpx.Client) -> dict[str, dict[str, Any]]:
    finance = _folder(api, "Finance")
    purchasing = _folder(api, "Purchasing", finance)
    return {
        "finance": finance,
        "purchasing": purchasing,
        "vendors": _folder(api, "Vendors", purchasing),
        "hr": _folder(api, "HR"),
    }


# Quirks ----------------------------------------------------------------------------------


def test_quirks_default_to_the_likeliest_answers_and_strict_turns_all_on() -> None:
    assert Quirks().on() == ()
    assert Emulator().quirks == Quirks()
    assert tuple(n.split("=")[0] for n in Quirks.strict().on()) == QUIRK_NAMES
    assert Quirks.named(["strict"]) == Quirks.strict()
    assert Quirks.named(["bodiless_deletes"]).on() == ("bodiless_deletes",)
    with pytest.raises(ValueError, match="unknown emulator quirks: nope"):
        Quirks.named(["nope"])
    assert set(QUIRK_NAMES) == {
        "top_level_folders",
        "nulls_refused",
        "prerun_omitted_deleted",
        "unpositioned_first",
        "no_custom_fields_in_lists",
        "bodiless_deletes",
        "field_type_immutable",
        "app_tokens_cannot_act",
        "list_without_includes",
        # issue 18's open questions
        "custom_fields_null",
        "prerun_without_custom_fields",
        "captures_without_custom_fields",
        "partial_custom_fields",
        "custom_field_write_forbidden",
        "applies_to_ui_names",
        "list_with_refused",
        "thin_listed_steps",
        "empty_string",
        "rule_put_appends",
        "prerun_dropped_on_create",
        "tags_without_tag_id",
        "deleted_tags_keep_title",
        "page_drift",
        "oauth_account_host",
    }


# top_level_folders -----------------------------------------------------------------------


def test_folders_list_is_flat_by_default_and_answers_parent_id_and_children(mode: str) -> None:
    with emulated(mode) as api:
        made = _three_deep(api)
        assert sorted(_names(data(api.get("/folders")))) == [
            "Finance",
            "HR",
            "Purchasing",
            "Vendors",
        ]
        children = data(api.get("/folders", params={"parent_id": made["finance"]["id"]}))
        assert _names(children) == ["Purchasing"]
        nested = data(api.get("/folders", params={"with": "children", "per_page": 100}))
        assert len(nested) == 4, "with only adds the include; the rows stay every folder"
        roots = [row for row in nested if row["parent_id"] is None]
        assert _tree(roots) == [("Finance", [("Purchasing", [("Vendors", [])])]), ("HR", [])]
        one = data(api.get(f"/folders/{made['purchasing']['id']}", params={"with": "children"}))
        assert _tree([one]) == [("Purchasing", [("Vendors", [])])]
        assert "children" not in data(api.get(f"/folders/{made['purchasing']['id']}"))


def test_top_level_folders_lists_children_only_when_asked(mode: str) -> None:
    with emulated(mode, "top_level_folders") as api:
        made = _three_deep(api)
        assert _names(data(api.get("/folders"))) == ["Finance", "HR"]
        unpaged = api.get("/folders", params={"pagination": "false", "folder_type": "checklist"})
        assert _names(unpaged.json()["data"]) == ["Finance", "HR"]
        assert "meta" not in unpaged.json()
        children = data(api.get("/folders", params={"parent_id": made["purchasing"]["id"]}))
        assert _names(children) == ["Vendors"]
        tree = data(api.get("/folders", params={"with": "children"}))
        assert _tree(tree) == [("Finance", [("Purchasing", [("Vendors", [])])]), ("HR", [])]


# nulls_refused ---------------------------------------------------------------------------


def test_nulls_are_accepted_by_default(api: httpx.Client) -> None:
    template = new_template(api, webhook=None, summary=None)
    assert template["webhook"] is None
    step = new_step(api, template["id"], deadline=None, max_assignable=None)
    assert step["deadline"] is None


def test_nulls_refused_names_every_null_key_at_any_depth(mode: str) -> None:
    with emulated(mode, "nulls_refused") as api:
        refused = errors(
            api.post(
                "/checklists",
                json={
                    "title": "T",
                    "type": "procedure",
                    "webhook": None,
                    "summary": None,
                    "prerun": [
                        {"label": "A", "field_type": "text", "required": False, "guidance": None}
                    ],
                },
            )
        )
        assert refused == {
            "webhook": ["The webhook must be a valid URL."],
            "summary": ["The summary field may not be null."],
            "prerun.0.guidance": ["The prerun.0.guidance field may not be null."],
        }
        assert data(api.get("/checklists")) == [], "a refused write changes nothing"
        template = new_template(api, summary="Buy things")
        step = new_step(api, template["id"])
        assert "deadline" in errors(
            api.put(
                f"/checklists/{template['id']}/steps/{step['id']}",
                json={"title": "S", "deadline": None},
            )
        )
        cleared = data(api.put(f"/checklists/{template['id']}", json={"title": "T", "summary": ""}))
        assert cleared["summary"] is None, "an empty string is how a value is cleared"


def test_nulls_refused_spares_a_rule_statement_but_not_custom_field_values(mode: str) -> None:
    with emulated(mode, "nulls_refused") as api:
        _define_key(api, "checklist")
        template = new_template(api)
        step = new_step(api, template["id"])
        field = new_capture(api, template["id"], step["id"])
        rule = {
            "automated_alias": "Hide when empty",
            "conditions": [
                {
                    "conditionable_id": field["id"],
                    "conditionable_type": "Capture",
                    "operation": "is_empty",
                    "statement": None,
                    "logic": "and",
                }
            ],
            "then_actions": [
                {"action_type": "visibility", "action_verb": "hide", "target_step_id": step["id"]}
            ],
        }
        url = f"/checklists/{template['id']}/automated-actions"
        assert api.post(url, json=rule).status_code == 201, "statement is documented as nullable"
        values = f"/checklists/{template['id']}/custom-fields"
        assert errors(api.put(values, json={"custom_fields": {"tallyform_key": None}})) == {
            "custom_fields.tallyform_key": [
                "The custom_fields.tallyform_key field may not be null."
            ]
        }
        assert data(api.put(values, json={"custom_fields": {}}))["custom_fields"] == {}


# prerun_omitted_deleted ------------------------------------------------------------------


def _kickoff(label: str, **extra: Any) -> dict[str, Any]:
    return {"label": label, "field_type": "text", "required": False, **extra}


def _hide_when(template: dict[str, Any], prerun_id: str, step_id: str) -> dict[str, Any]:
    return {
        "automated_alias": "Hide",
        "conditions": [
            {
                "conditionable_id": prerun_id,
                "conditionable_type": "Prerun",
                "operation": "equals",
                "statement": "no",
                "logic": "and",
            }
        ],
        "then_actions": [
            {"action_type": "visibility", "action_verb": "hide", "target_step_id": step_id}
        ],
    }


def test_kickoff_fields_left_out_of_a_put_are_kept_by_default(api: httpx.Client) -> None:
    template = new_template(api, prerun=[_kickoff("A"), _kickoff("B")])
    first = template["prerun"][0]
    kept = data(
        api.put(
            f"/checklists/{template['id']}",
            json={"title": "T", "prerun": [{**first, "label": "A!"}]},
        )
    )
    assert [p["label"] for p in kept["prerun"]] == ["A!", "B"]


def test_prerun_omitted_deleted_deletes_left_out_fields_unless_a_rule_uses_one(mode: str) -> None:
    with emulated(mode, "prerun_omitted_deleted") as api:
        template = new_template(api, prerun=[_kickoff("A"), _kickoff("B"), _kickoff("C")])
        a, b, c = template["prerun"]
        url = f"/checklists/{template['id']}"
        untouched = data(api.put(url, json={"title": "T"}))
        assert [p["label"] for p in untouched["prerun"]] == ["A", "B", "C"], "no prerun, no change"
        step = new_step(api, template["id"])
        rules = f"{url}/automated-actions"
        data(api.post(rules, json=_hide_when(template, b["id"], step["id"])), 201)
        refused = errors(api.put(url, json={"title": "T", "prerun": [{**a, "label": "A!"}]}))
        assert refused == {
            "prerun": ["Cannot delete a form field that is being used in a rule: 'B'."]
        }
        assert [p["label"] for p in data(api.get(url))["prerun"]] == ["A", "B", "C"]
        kept = data(api.put(url, json={"title": "T", "prerun": [a, b, _kickoff("D")]}))
        assert [p["label"] for p in kept["prerun"]] == ["A", "B", "D"]
        assert [p["position"] for p in kept["prerun"]] == [1, 2, 3]
        assert c["id"] not in {p["id"] for p in kept["prerun"]}
        assert api.delete(f"{url}/preruns/{c['id']}").status_code == 404, "already gone"


# unpositioned_first ----------------------------------------------------------------------


def _labels(api: httpx.Client, template: dict[str, Any], step: dict[str, Any]) -> list[str]:
    found = data(api.get(f"/checklists/{template['id']}/steps/{step['id']}"))
    return [c["label"] for c in found["captures"]]


@pytest.mark.parametrize(
    ("names", "expected"),
    [((), ["A", "X", "B", "C"]), (("unpositioned_first",), ["C", "B", "X", "A"])],
)
def test_an_unpositioned_form_field_goes_last_or_first(
    mode: str, names: tuple[str, ...], expected: list[str]
) -> None:
    with emulated(mode, *names) as api:
        template = new_template(api)
        step = new_step(api, template["id"])
        for label in ("A", "B"):
            new_capture(api, template["id"], step["id"], label=label)
        new_capture(api, template["id"], step["id"], label="X", position=2)
        new_capture(api, template["id"], step["id"], label="C")
        assert _labels(api, template, step) == expected


# no_custom_fields_in_lists ---------------------------------------------------------------


def _define_key(api: httpx.Client, kind: str) -> None:
    body = {"key": "tallyform_key", "applies_to": kind, "field_type": "text"}
    data(api.post("/custom-field-keys", json=body), 201)


def _keyed_template(api: httpx.Client) -> tuple[str, str]:
    """A template whose template, kick-off field, step and form field each carry a key;
    returns the template's URL and its step's."""
    for kind in ("checklist", "step", "capture", "prerun"):
        _define_key(api, kind)
    template = new_template(api, prerun=[_kickoff("Amount")])
    step = new_step(api, template["id"])
    capture = new_capture(api, template["id"], step["id"])
    base = f"/checklists/{template['id']}"
    step_url = f"{base}/steps/{step['id']}"
    for kind, url in (
        ("checklist", base),
        ("prerun", f"{base}/preruns/{template['prerun'][0]['id']}"),
        ("step", step_url),
        ("capture", f"{step_url}/captures/{capture['id']}"),
    ):
        data(api.put(f"{url}/custom-fields", json={"custom_fields": {"tallyform_key": kind}}))
    return base, step_url


def _key(record: dict[str, Any]) -> Any:
    return record.get("custom_fields", "absent")


def test_lists_and_nested_objects_carry_custom_fields_by_default(api: httpx.Client) -> None:
    base, step_url = _keyed_template(api)
    row = data(api.get("/checklists"))[0]
    assert _key(row) == {"tallyform_key": "checklist"}
    assert _key(row["prerun"][0]) == {"tallyform_key": "prerun"}
    nested = data(api.get(base, params={"with": "steps"}))["steps"]["data"][0]
    assert _key(nested) == {"tallyform_key": "step"}
    assert _key(nested["captures"][0]) == {"tallyform_key": "capture"}
    assert _key(data(api.get(f"{base}/steps"))[0]) == {"tallyform_key": "step"}


def test_no_custom_fields_in_lists_keeps_values_to_direct_reads(mode: str) -> None:
    with emulated(mode, "no_custom_fields_in_lists") as api:
        base, step_url = _keyed_template(api)
        row = data(api.get("/checklists"))[0]
        assert _key(row) == "absent" and _key(row["prerun"][0]) == "absent"
        listed_step = data(api.get(f"{base}/steps"))[0]
        assert _key(listed_step) == "absent" and _key(listed_step["captures"][0]) == "absent"
        template = data(api.get(base, params={"with": "steps"}))
        assert _key(template) == {"tallyform_key": "checklist"}
        assert _key(template["prerun"][0]) == {"tallyform_key": "prerun"}
        nested = template["steps"]["data"][0]
        assert _key(nested) == "absent" and _key(nested["captures"][0]) == "absent"
        step = data(api.get(step_url))
        assert _key(step) == {"tallyform_key": "step"}
        assert _key(step["captures"][0]) == {"tallyform_key": "capture"}
        written = data(api.put(base, json={"title": "Renamed"}))
        assert _key(written) == {"tallyform_key": "checklist"}, "a write's answer is direct"


# bodiless_deletes ------------------------------------------------------------------------


def _one_of_each(api: httpx.Client) -> dict[str, str]:
    """URLs to delete a form field, a kick-off field, a rule, a tag link and a step."""
    template = new_template(api, prerun=[_kickoff("A")])
    base = f"/checklists/{template['id']}"
    step = new_step(api, template["id"])
    other = new_step(api, template["id"])
    capture = new_capture(api, template["id"], step["id"])
    rule = data(
        api.post(
            f"{base}/automated-actions",
            json=_hide_when(template, template["prerun"][0]["id"], other["id"]),
        ),
        201,
    )
    tag = data(api.post("/tags", json={"title": "ops"}), 201)
    link = data(
        api.post(
            "/checklists/tags",
            json={
                "subject_id": template["id"],
                "subject_type": "Checklist",
                "tag_id": tag["id"],
                "tag_type": "private",
            },
        ),
        201,
    )
    return {
        "capture": f"{base}/steps/{step['id']}/captures/{capture['id']}",
        "rule": f"{base}/automated-actions/{rule['id']}",
        "prerun": f"{base}/preruns/{template['prerun'][0]['id']}",
        "tag link": f"/checklists/tags/{link['id']}",
        "step": f"{base}/steps/{other['id']}",
        "template": base,
    }


def test_deletes_answer_200_with_a_message_by_default(api: httpx.Client) -> None:
    for what, url in _one_of_each(api).items():
        answer = api.delete(url)
        assert answer.status_code == 200, what
        assert answer.json()["message"], what


def test_bodiless_deletes_answer_204_except_the_archive(mode: str) -> None:
    with emulated(mode, "bodiless_deletes") as api:
        urls = _one_of_each(api)
        archive = urls.pop("template")
        for what, url in urls.items():
            answer = api.delete(url)
            assert (answer.status_code, answer.content) == (204, b""), what
            assert "content-type" not in answer.headers, what
        archived = api.delete(archive)
        assert archived.status_code == 200 and "deleted_references" in archived.json()


# field_type_immutable --------------------------------------------------------------------


def test_field_type_changes_in_place_by_default(api: httpx.Client) -> None:
    template = new_template(api, prerun=[_kickoff("A")])
    step = new_step(api, template["id"])
    capture = new_capture(api, template["id"], step["id"])
    url = f"/checklists/{template['id']}/steps/{step['id']}/captures/{capture['id']}"
    changed = data(api.put(url, json={"label": "F", "field_type": "textarea", "required": False}))
    assert changed["field_type"] == "textarea"
    entry = {**template["prerun"][0], "field_type": "date"}
    put = data(api.put(f"/checklists/{template['id']}", json={"title": "T", "prerun": [entry]}))
    assert put["prerun"][0]["field_type"] == "date"


def test_field_type_immutable_refuses_a_type_change(mode: str) -> None:
    with emulated(mode, "field_type_immutable") as api:
        template = new_template(api, prerun=[_kickoff("A"), _kickoff("B")])
        step = new_step(api, template["id"])
        capture = new_capture(api, template["id"], step["id"])
        url = f"/checklists/{template['id']}/steps/{step['id']}/captures/{capture['id']}"
        same = {"label": "F", "field_type": "text", "required": True}
        assert data(api.put(url, json=same))["required"] is True
        assert errors(api.put(url, json={**same, "field_type": "textarea"})) == {
            "field_type": ["The field type of an existing field cannot be changed."]
        }
        a, b = template["prerun"]
        base = f"/checklists/{template['id']}"
        refused = errors(
            api.put(base, json={"title": "T", "prerun": [a, {**b, "field_type": "date"}]})
        )
        assert list(refused) == ["prerun.1.field_type"]
        assert [p["field_type"] for p in data(api.get(base))["prerun"]] == ["text", "text"]


# The CLI ---------------------------------------------------------------------------------


def test_serve_help_lists_every_quirk() -> None:
    result = run_cli("emulator", "serve", "--help")
    assert result.exit_code == 0
    assert "--strict" in result.stdout and "--quirk NAME" in result.stdout
    for name in QUIRK_NAMES:
        assert name in result.stdout
    assert "* low_rate_limit" in result.stdout, "what --strict leaves out is marked"
    assert "marked * (low_rate_limit: pacing, not a reading" in " ".join(result.stdout.split())


def test_serve_refuses_an_unknown_quirk() -> None:
    result = run_cli("emulator", "serve", "--quirk", "optimistic")
    assert result.exit_code != 0
    assert "optimistic" in result.output and "top_level_folders" in result.output


def test_served_strict_takes_every_pessimistic_answer() -> None:
    with served("--strict", "--rate-limit", "0") as (process, url):
        assert process.stdout is not None
        assert process.stdout.readline().startswith("organization ")
        shown = process.stdout.readline().strip().removeprefix("pessimistic answers: ")
        assert [name.split("=")[0] for name in shown.split(", ")] == list(QUIRK_NAMES)
        with httpx.Client(base_url=url, headers=auth(), timeout=10) as api:
            top = _folder(api, "Top")
            _folder(api, "Inner", top)
            assert _names(data(api.get("/folders"))) == ["Top"]
            assert "webhook" in errors(
                api.post("/checklists", json={"title": "T", "type": "form", "webhook": None})
            )
            template = new_template(api)
            step = new_step(api, template["id"])
            assert api.delete(f"/checklists/{template['id']}/steps/{step['id']}").status_code == 204
            cleared = api.put(f"/checklists/{template['id']}", json={"title": "T", "webhook": ""})
            assert errors(cleared) == {"webhook": ["The webhook must be a valid URL."]}
            assert "X-RateLimit-Limit" not in cleared.headers, "no org limit under strict"


def test_served_quirk_turns_on_only_that_answer() -> None:
    with (
        served("--quirk", "bodiless_deletes", "--rate-limit", "0") as (_, url),
        httpx.Client(base_url=url, headers=auth(), timeout=10) as api,
    ):
        top = _folder(api, "Top")
        _folder(api, "Inner", top)
        assert sorted(_names(data(api.get("/folders")))) == ["Inner", "Top"]
        template = new_template(api, webhook=None)
        step = new_step(api, template["id"])
        assert api.delete(f"/checklists/{template['id']}/steps/{step['id']}").status_code == 204


# The request log -------------------------------------------------------------------------


def test_the_request_log_keeps_write_bodies_with_secrets_masked(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    emulator = Emulator(request_log=log)
    with httpx.Client(transport=EmulatorTransport(emulator)) as raw:
        granted = raw.post(
            IN_PROCESS_URL.removesuffix("/api") + "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET,
                "scope": "*",
            },
        )
        assert granted.status_code == 200
    with connect(emulator, "in_process") as api:
        template = new_template(api, summary="Buy")
        api.get("/checklists")
        api.put(
            f"/checklists/{template['id']}",
            json={"title": "T", "webhook": "https://x.test/?a=1", "auth": {"password": "hunter2"}},
        )
        api.delete(f"/checklists/{template['id']}")
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines == emulator.requests
    token, create, listing, update, archive = lines
    assert token["body"] == {
        "grant_type": "client_credentials",
        "client_id": DEFAULT_CLIENT_ID,
        "client_secret": "***",
        "scope": "*",
    }
    assert create["body"] == {"title": "Template", "type": "procedure", "summary": "Buy"}
    assert "body" not in listing
    assert update["body"] == {
        "title": "T",
        "webhook": "https://x.test/?a=1",
        "auth": {"password": "***"},
    }
    assert archive["body"] == {}
    assert DEFAULT_CLIENT_SECRET not in log.read_text() and "hunter2" not in log.read_text()


def test_served_request_log_keeps_bodies(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    with (
        served("--request-log", str(log), "--rate-limit", "0") as (_, url),
        httpx.Client(base_url=url, headers=auth(), timeout=10) as api,
    ):
        new_template(api, title="Logged", access_token="secret-value")
    (entry,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert entry["body"] == {"title": "Logged", "type": "procedure", "access_token": "***"}
