"""`tallyform probe` answers each open question as the org does, and leaves nothing behind.

The emulator answers each open question the likeliest way unless its quirk of the same
name is on; a probe of it must report exactly the quirks that are on, alone or under
``--strict``, and archive or delete every object it made.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tallyform.emulator import QUIRK_NAMES, Emulator, Quirks
from tallyform.tallyfy.probe import Finding, Probe, Readings, answers_document
from tests.client_helpers import client_for
from tests.conftest import run_cli

# Questions one run cannot settle against the emulator with a personal token: an
# application's own token is only asked with application credentials.
NOT_WITH_A_PERSONAL_TOKEN = {"app_tokens_cannot_act"}


def probed(quirks: Quirks) -> tuple[list[Finding], Emulator]:
    emulator = Emulator(quirks=quirks)
    with client_for(emulator) as client:
        return Probe(client).run(), emulator


def reported(findings: list[Finding]) -> set[str]:
    return {f.name for f in findings if f.quirk}


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
    assert left_behind(emulator) == {"templates": [], "tags": [], "folders": []}
    # Every question the emulator models is asked (and named as its quirk).
    assert set(QUIRK_NAMES) <= {f.name for f in findings}


@pytest.mark.parametrize("name", [n for n in QUIRK_NAMES if n not in NOT_WITH_A_PERSONAL_TOKEN])
def test_a_probe_reports_exactly_the_quirk_that_is_on(name: str) -> None:
    findings, emulator = probed(Quirks.named([name]))
    assert reported(findings) == {name}
    assert left_behind(emulator)["templates"] == []


def test_a_probe_of_the_strict_emulator_reports_every_quirk_strict_turns_on() -> None:
    findings, emulator = probed(Quirks.strict())
    assert reported(findings) == set(Quirks.strict().on()) - NOT_WITH_A_PERSONAL_TOKEN
    assert left_behind(emulator) == {"templates": [], "tags": [], "folders": []}


class StoppedHalfWay(Probe):
    """A probe stopped (an error, or Ctrl-C) once its template and tag exist."""

    def checks(self) -> list[Callable[[], None]]:
        return [self.create, self.tags, self.stop]

    def stop(self) -> None:
        raise KeyboardInterrupt


def test_what_the_probe_made_is_archived_even_when_it_is_stopped_half_way() -> None:
    emulator = Emulator()
    with client_for(emulator) as client, pytest.raises(KeyboardInterrupt):
        StoppedHalfWay(client).run()
    assert left_behind(emulator) == {"templates": [], "tags": [], "folders": []}


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
    assert "  tallyform: as by default" in result.stdout
    kept = json.loads((examples_copy / ".tallyform" / "probe" / "local.json").read_text())
    assert kept == json.loads(answers.read_text())
    assert {f["name"] for f in kept["findings"]} >= set(QUIRK_NAMES)
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
