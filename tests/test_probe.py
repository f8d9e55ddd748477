"""`tallyform probe` answers each open question as the org does, and leaves nothing behind.

The emulator answers each open question the likeliest way unless its quirk of the same
name is on; a probe of it must report exactly the quirks that are on, alone or under
``--strict``, and archive or delete every object it made.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tallyform.client import Pacer, StaticToken, TallyfyClient
from tallyform.emulator import (
    DEFAULT_MEMBER_TOKEN,
    DEFAULT_TOKEN,
    IN_PROCESS_URL,
    Emulator,
    EmulatorTransport,
    Quirks,
)
from tallyform.emulator.quirks import EVERY_QUIRK, QUIRK_CHOICES
from tallyform.tallyfy.probe import Finding, Probe, Readings, answers_document
from tests.client_helpers import FakeTime, client_for
from tests.conftest import run_cli
from tests.emulator_helpers import application_token

# Questions a probe with an admin's personal token cannot settle: an application's own
# token is only asked with application credentials, custom fields hidden from an
# application's own token only seen with one, and a write refused to non-admins only with
# a member's token (tested below).
NOT_WITH_AN_ADMIN_TOKEN = {
    "app_tokens_cannot_act",
    "custom_fields_null",
    "custom_field_write_forbidden",
}
# Every answer a quirk can take but the likeliest: a switch by its name, a choice as
# NAME=CHOICE, as ``Quirks.on()`` names them.
EVERY_ANSWER = [
    answer
    for name in EVERY_QUIRK
    for answer in (
        [f"{name}={c}" for c in QUIRK_CHOICES[name][1:]] if name in QUIRK_CHOICES else [name]
    )
]


def probed(
    quirks: Quirks, token: str | None = None, application: bool = False
) -> tuple[list[Finding], Emulator]:
    """A probe of an org holding two templates already (page drift needs two pages), with
    ``token``, or an application's own token (``application``), or the admin's. The org's
    limits (``low_rate_limit``) run on a fake clock the client sleeps on."""
    clock = FakeTime()
    emulator = Emulator(quirks=quirks, clock=clock)
    with client_for(emulator) as seeding:
        for title in ("First", "Second"):
            seeding.call("POST", "/checklists", json={"title": title, "type": "procedure"})
    if application:
        token = application_token(emulator)
    options = {"token": token} if token else {}
    pacer = Pacer(None, clock=clock, sleep=clock.sleep)
    with client_for(emulator, pacer=pacer, sleep=clock.sleep, **options) as client:
        return Probe(client, application=application).run(), emulator


def reported(findings: list[Finding]) -> set[str]:
    """The quirks a probe found on, named as ``Quirks.on()`` names them."""
    return {f.name + (f"={f.choice}" if f.choice else "") for f in findings if f.quirk}


def left_behind(emulator: Emulator) -> dict[str, list[str]]:
    """What the probe left in the org: live templates, tags, folders."""
    state = emulator.state
    return {
        "templates": [t["title"] for t in state["checklists"].values() if not t.get("archived_at")],
        "tags": [t["title"] for t in state["tags"].values() if not t.get("deleted_at")],
        "folders": [f["name"] for f in state["folders"].values()],
    }


def test_a_probe_of_the_likeliest_api_reports_no_quirk_and_leaves_nothing() -> None:
    findings, emulator = probed(Quirks())
    assert reported(findings) == set()
    assert left_behind(emulator) == {"templates": ["First", "Second"], "tags": [], "folders": []}
    # Every question the emulator models is asked (and named as its quirk).
    assert set(EVERY_QUIRK) <= {f.name for f in findings}


@pytest.mark.parametrize(
    "answer", [a for a in EVERY_ANSWER if a.split("=")[0] not in NOT_WITH_AN_ADMIN_TOKEN]
)
def test_a_probe_reports_exactly_the_quirk_that_is_on(answer: str) -> None:
    findings, emulator = probed(Quirks.named([answer]))
    assert reported(findings) == {answer}
    assert left_behind(emulator)["templates"] == ["First", "Second"]


def test_a_probe_with_a_members_token_finds_value_writes_forbidden() -> None:
    findings, _ = probed(Quirks.named(["custom_field_write_forbidden"]), DEFAULT_MEMBER_TOKEN)
    assert "custom_field_write_forbidden" in reported(findings)
    findings, _ = probed(Quirks(), DEFAULT_MEMBER_TOKEN)
    assert "custom_field_write_forbidden" not in reported(findings)


def test_custom_fields_hidden_from_an_applications_own_token_are_found_with_one() -> None:
    """The quirk is the viewer's (custom fields null to an application's own token): a
    probe with such a token finds it, and nothing else; one with a member's does not."""
    findings, emulator = probed(Quirks.named(["custom_fields_null"]), application=True)
    assert reported(findings) == {"custom_fields_null"}
    assert left_behind(emulator)["templates"] == ["First", "Second"]
    findings, _ = probed(Quirks(), application=True)
    assert reported(findings) == set()
    findings, _ = probed(Quirks.named(["custom_fields_null"]))
    assert reported(findings) == set(), "an admin's token sees the values"


# Under strict, list rows carry no steps (list_without_includes) and no custom fields
# (no_custom_fields_in_lists): what the objects nested in a row would show is hidden.
HIDDEN_UNDER_STRICT = {
    "prerun_without_custom_fields",
    "captures_without_custom_fields",
    "partial_custom_fields",
    "thin_listed_steps",
}


def test_a_probe_of_the_strict_emulator_reports_every_quirk_strict_turns_on() -> None:
    findings, emulator = probed(Quirks.strict())
    unsettled = NOT_WITH_AN_ADMIN_TOKEN | HIDDEN_UNDER_STRICT
    expected = {a for a in Quirks.strict().on() if a.split("=")[0] not in unsettled}
    assert reported(findings) == expected
    hidden = {f.name: f.quirk for f in findings if f.name in HIDDEN_UNDER_STRICT}
    assert hidden == dict.fromkeys(HIDDEN_UNDER_STRICT), "not settled, never 'likeliest'"
    assert left_behind(emulator) == {"templates": ["First", "Second"], "tags": [], "folders": []}


class StoppedHalfWay(Probe):
    """A probe stopped (an error, or Ctrl-C) once its template and tag exist."""

    def checks(self) -> list[Callable[[], None]]:
        return [self.create, self.tags, self.stop]

    def stop(self) -> None:
        raise KeyboardInterrupt


def test_what_the_probe_made_is_archived_even_when_it_is_stopped_half_way() -> None:
    emulator = Emulator()
    with client_for(emulator) as client, pytest.raises(KeyboardInterrupt):
        stopped = StoppedHalfWay(client)
        stopped.run()
    assert left_behind(emulator) == {"templates": [], "tags": [], "folders": []}
    assert stopped.cleaned and stopped.left == [], "what the command then says"


def test_what_the_probe_could_not_remove_is_named() -> None:
    emulator = Emulator()
    with (
        TallyfyClient(
            org_id=emulator.org_id,
            base_url=IN_PROCESS_URL,
            transport=RefusedDeletes(EmulatorTransport(emulator)),
            credentials=StaticToken(DEFAULT_TOKEN, "TEST"),
        ) as client,
        pytest.raises(KeyboardInterrupt),
    ):
        probed = StoppedHalfWay(client)
        probed.run()
    assert probed.cleaned and probed.template_id is not None
    assert f"template {probed.template_id}" in probed.left


class RefusedDeletes(httpx.BaseTransport):
    """Answers 403 to every DELETE, as an org whose token may create but not delete."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE":
            return httpx.Response(403, json={"message": "Forbidden"})
        return self.inner.handle_request(request)


def test_readings_follow_the_answers_that_change_what_tallyform_sends() -> None:
    ui = Finding("applies_to_ui_names", "q", "s", "g", True, "d")
    ignored = Finding("empty_string", "q", "s", "g", True, "d", choice="ignored")
    readings = Readings.of([ui, ignored])
    assert readings.applies_to["template"] == "template"
    assert readings.clears_with_empty is False
    assert Readings.of([]) == Readings()
    document = answers_document("prod", "abc", [ui], "1.0")
    assert document["readings"]["applies_to"]["field"] == "form_field"
    assert document["findings"][0]["reading"] == "pessimistic"


def test_probe_command_prints_and_keeps_the_answers(examples_copy: Path) -> None:
    answers = examples_copy / "answers.json"
    result = run_cli("-C", str(examples_copy), "probe", "--json", str(answers))
    assert result.exit_code == 0, result.output
    assert "nested_steps_built: likeliest" in result.stdout
    assert "Removed what the probe made" in result.stderr
    assert "  tallyform: as by default" in result.stdout
    kept = json.loads((examples_copy / ".tallyform" / "probe" / "local.json").read_text())
    assert kept == json.loads(answers.read_text())
    assert {f["name"] for f in kept["findings"]} >= set(EVERY_QUIRK)
    # The embedded org holds no probe template afterwards: plan still creates every example.
    planned = run_cli("-C", str(examples_copy), "plan", "--format", "json")
    assert json.loads(planned.stdout)["summary"]["create"] > 0
    assert "tallyform probe" not in planned.stdout


def test_probe_dry_run_sends_nothing(examples_copy: Path) -> None:
    result = run_cli("-C", str(examples_copy), "probe", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "POST /checklists" in result.stdout
    assert not (examples_copy / ".tallyform" / "local-org.json").exists()
    assert not (examples_copy / ".tallyform" / "probe").exists()
