"""End to end over a real loopback socket: a configured org, the token from the environment.

The token must not appear in any output, log line or saved plan.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from tallyform.emulator import DEFAULT_TOKEN, Emulator, EmulatorServer, Quirks
from tests.conftest import EXAMPLES, run_cli

TOKEN_ENV = "TALLYFORM_E2E_TOKEN"


def _project(tmp_path: Path, url: str, org_id: str) -> Path:
    root = tmp_path / "project"
    shutil.copytree(EXAMPLES / "templates", root / "templates")
    (root / "tallyform.yaml").write_text(
        "version: 1\n"
        "default_org: served\n"
        "orgs:\n"
        "  served:\n"
        f"    org_id: {org_id}\n"
        f"    api_url: {url}\n"
        f"    token_env: {TOKEN_ENV}\n"
        "    requests_per_minute: 0\n"
    )
    return root


def test_plan_apply_plan_over_http_never_shows_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tallyform")
    emulator = Emulator()
    with EmulatorServer(emulator) as server:
        root = _project(tmp_path, server.url, emulator.org_id)
        monkeypatch.setenv(TOKEN_ENV, DEFAULT_TOKEN)
        saved = root / "plan.json"
        outputs = [
            run_cli("-v", "-C", str(root), "plan", "--out", str(saved)),
            run_cli("-v", "-C", str(root), "apply", str(saved)),
            run_cli("-v", "-C", str(root), "plan", "--detailed-exitcode"),
        ]
        assert [r.exit_code for r in outputs] == [0, 0, 0], [r.output for r in outputs]
        assert "No changes." in outputs[2].stdout
        assert "GET /me -> 200" in outputs[0].stderr, "-v shows each request"
        monkeypatch.setenv(TOKEN_ENV, "not-the-right-token-42")
        refused = run_cli("-C", str(root), "plan")
        monkeypatch.delenv(TOKEN_ENV)
        missing = run_cli("-C", str(root), "plan")
    assert refused.exit_code == 1
    assert f"credentials from {TOKEN_ENV}" in refused.output and "org 'served'" in refused.output
    assert missing.exit_code == 1 and f"set {TOKEN_ENV} in the environment" in missing.output
    texts = [r.output for r in [*outputs, refused, missing]]
    texts += [saved.read_text(), *(record.getMessage() for record in caplog.records)]
    for secret in (DEFAULT_TOKEN, "not-the-right-token-42"):
        assert all(secret not in text for text in texts)
    titles = sorted(t["title"] for t in emulator.state["checklists"].values())
    assert len(titles) == 6 and len(set(titles)) == 6


@pytest.mark.parametrize("answers", ["likeliest", "strict"])
def test_served_bootstrap_and_edits_converge_whichever_way_tallyfy_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answers: str
) -> None:
    """The examples, then edits to every kind of object, against a served emulator."""
    emulator = Emulator(quirks=Quirks.strict() if answers == "strict" else Quirks())
    with EmulatorServer(emulator) as server:
        root = _project(tmp_path, server.url, emulator.org_id)
        monkeypatch.setenv(TOKEN_ENV, DEFAULT_TOKEN)
        assert run_cli("-C", str(root), "apply", "--yes").exit_code == 0
        template = root / "templates/incident-response.yaml"
        text = template.read_text()
        for old, new in EDITS:
            assert old in text, old
            text = text.replace(old, new, 1)
        template.write_text(text)
        applied = run_cli("-C", str(root), "apply", "--yes")
        assert applied.exit_code == 0, applied.output
        again = run_cli("-C", str(root), "plan", "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    bodies = [r.get("body") for r in emulator.requests if r["method"] != "GET"]
    assert not any("null" in json.dumps(b) for b in bodies), "no write body holds a null"


EDITS = [
    ("    type: radio\n", "    type: dropdown\n"),  # a kick-off field's type (a rule names it)
    ("title: Contain the impact", "title: Contain it"),
    ("columns: [Time, Action, By]", "columns: [Time, Action, Owner]"),
    ("tags: [engineering, incidents]", "tags: [engineering]"),
]


def test_a_strict_org_probed_first_refuses_a_clear_before_any_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under strict "" clears nothing: once `tallyform probe` has found so, plan names the
    value it would clear and apply refuses the whole plan, writing nothing."""
    emulator = Emulator(quirks=Quirks.strict())
    with EmulatorServer(emulator) as server:
        root = _project(tmp_path, server.url, emulator.org_id)
        monkeypatch.setenv(TOKEN_ENV, DEFAULT_TOKEN)
        assert run_cli("-C", str(root), "apply", "--yes").exit_code == 0
        probed = run_cli("-C", str(root), "probe")
        assert probed.exit_code == 0, probed.output
        assert "empty_string: refused" in probed.stdout
        template = root / "templates/customer-onboarding.yaml"
        template.write_text(
            template.read_text().replace("    deadline: {value: 3, unit: days}\n", "", 1)
        )
        before = len(emulator.requests)
        planned = run_cli("-C", str(root), "plan")
        applied = run_cli("-C", str(root), "apply", "--yes")
        changed = [r for r in emulator.requests[before:] if r["method"] != "GET"]
    assert "deadline would be cleared" in planned.output, planned.output
    assert applied.exit_code == 1
    assert (
        "deadline would be cleared" in applied.output and "Nothing was changed." in applied.output
    )
    org = f"/api/organizations/{emulator.org_id}"
    assert {r["path"].removeprefix(org).split("/")[1] for r in changed} == {"tags"}, changed
    assert all(r["path"].endswith("/tags") or r["method"] == "DELETE" for r in changed), (
        "only the apply lock's tag, made and deleted"
    )
