"""Messages in the user's words: one "did you mean" for every name a user types
(tallyform/config/suggest.py), and a token variable set but empty.

The corpus (tests/corpus) holds the located cases: a rule's `show:` typo, a rule's field
typo, a condition value that is not an option, an enum value, `default_org`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tallyform.config import suggest
from tests.conftest import PROJECT_YAML, run_cli


def test_closest_prefers_case_then_prefix_then_spelling() -> None:
    assert suggest.closest("JIRA", ["Jira", "GitHub"]) == "Jira"
    assert suggest.closest("prod", ["local", "production"]) == "production"
    assert suggest.closest("security-reveiw", ["submit", "security-review"]) == "security-review"
    assert suggest.closest("zzz", ["submit", "approve"]) is None
    assert suggest.advice("x", [], "steps here") == "there are no steps here"


def test_an_unknown_org_gets_a_suggestion(project: Callable[..., Path]) -> None:
    config = PROJECT_YAML + "  production:\n    org_id: 1505bb7b9ba5f8972ffd3fe1ca18ec0c\n"
    root = project(config=config)
    result = run_cli("-C", str(root), "plan", "--org", "prodution")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: no org called 'prodution' in {root / 'tallyform.yaml'}; "
        "did you mean 'production'? orgs there: local, production\n"
    )


@pytest.mark.parametrize("value", ["", "  \n"])
def test_a_token_variable_set_but_empty_has_its_own_message(
    project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    config = PROJECT_YAML + "  production:\n    org_id: 1505bb7b9ba5f8972ffd3fe1ca18ec0c\n"
    root = project(config=config)
    monkeypatch.setenv("TALLYFY_API_TOKEN", value)
    result = run_cli("-C", str(root), "plan", "--org", "production")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: org 'production' needs an API token, and TALLYFY_API_TOKEN is set but "
        "empty; in CI, the secret is not given to this job (a pull request from a fork, a "
        "secret of an environment the job does not name, or a misspelt secret name)\n"
    )
    monkeypatch.delenv("TALLYFY_API_TOKEN")
    unset = run_cli("-C", str(root), "plan", "--org", "production")
    assert "set TALLYFY_API_TOKEN in the environment" in unset.stderr
