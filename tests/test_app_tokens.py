"""An application acting as a user: ``act_as`` mints that user's token with the app's token.

Tallyfy documents the mint (``POST /applications/{org}/users/{email}/token``, reference
2.4) but not whether an application's own token may act (10.7); the emulator's
``app_tokens_cannot_act`` quirk takes the pessimistic answer, and ``act_as`` works either way.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import run_cli

ORG_ID = "1505bb7b9ba5f8972ffd3fe1ca18ec0c"


# Configuration ---------------------------------------------------------------------------


def test_act_as_is_read_with_an_application(project: Callable[..., Path]) -> None:
    from tallyform.config.project import load_project

    config = (
        "version: 1\norgs:\n  prod:\n"
        f"    org_id: {ORG_ID}\n"
        "    client_id_env: APP_ID\n"
        "    client_secret_env: APP_SECRET\n"
        "    act_as: alice@example.com\n"
    )
    root = project(config=config)
    loaded, problems = load_project(root / "tallyform.yaml")
    assert problems == [] and loaded is not None
    assert loaded.orgs["prod"].act_as == "alice@example.com"
    assert run_cli("-C", str(root), "validate").exit_code == 0


def test_act_as_without_an_application_is_a_problem_at_its_line(
    project: Callable[..., Path],
) -> None:
    config = f"version: 1\norgs:\n  prod:\n    org_id: {ORG_ID}\n    act_as: alice@example.com\n"
    result = run_cli("-C", str(project(config=config)), "validate")
    assert result.exit_code == 1
    assert "tallyform.yaml:5:5: error: org 'prod' sets `act_as:` without an application" in (
        result.output
    )
    assert "client_id_env" in result.output


def test_act_as_must_be_an_email(project: Callable[..., Path]) -> None:
    config = (
        "version: 1\norgs:\n  prod:\n"
        f"    org_id: {ORG_ID}\n"
        "    client_id_env: APP_ID\n"
        "    act_as: alice\n"
    )
    result = run_cli("-C", str(project(config=config)), "validate")
    assert result.exit_code == 1
    assert "tallyform.yaml:6:13: error: 'alice' must be the email address of a member" in (
        result.output
    )
