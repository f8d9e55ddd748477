"""fmt and validate as a newcomer meets them: the README's sample is canonical, long
lists stay readable, --diff shows what would change, --check fails on an invalid file,
validate takes files as fmt does."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from tests.conftest import REPO, run_cli

HEAD = "# yaml-language-server: $schema=../schemas/template.schema.json\n"


def readme_sample() -> str:
    """The README's sample template file, as written there."""
    text = (REPO / "README.md").read_text()
    found = re.search(
        r"```yaml\n(# yaml-language-server: \$schema=\.\./schemas/.*?)```", text, re.S
    )
    assert found, "the README has no sample template"
    return found.group(1)


def test_the_readme_sample_template_is_canonical(project: Callable[..., Path]) -> None:
    sample = readme_sample()
    assert "}   # counts from another step" in sample  # a flow mapping with a comment after it
    root = project({"purchase-request.yaml": sample})
    result = run_cli("-C", str(root), "fmt", "--check")
    assert (result.exit_code, result.output) == (0, ""), result.output


RULES = """\
title: Access request
kickoff:
  - {key: system, label: System, type: dropdown, options: [Jira, GitHub, Production database]}
  - {key: level, label: Access level, type: radio, options: [Read, Write]}
steps:
  - {key: approve, title: Approve}
rules:
  - name: Production writes need the security team
    when:
      - {field: system, is: equals, value: Production database}
      - {field: level, is: equals, value: Write}
    then: [{show: approve}]
"""


def test_a_long_when_list_stays_in_block_style(project: Callable[..., Path]) -> None:
    blocky = RULES.replace(
        "      - {field: system, is: equals, value: Production database}\n",
        "      - field: system\n        is: equals\n        value: Production database\n",
    )
    root = project({"access.yaml": blocky})
    assert run_cli("-C", str(root), "fmt").exit_code == 0
    formatted = (root / "templates/access.yaml").read_text()
    assert formatted == RULES.replace(
        "  - {key: approve, title: Approve}\n", "  - key: approve\n    title: Approve\n"
    ).replace(
        "  - {key: system, label: System, type: dropdown, options: [Jira, GitHub, Production database]}\n"
        "  - {key: level, label: Access level, type: radio, options: [Read, Write]}\n",
        "  - key: system\n    label: System\n    type: dropdown\n"
        "    options: [Jira, GitHub, Production database]\n"
        "  - key: level\n    label: Access level\n    type: radio\n    options: [Read, Write]\n",
    )
    assert max(len(line) for line in formatted.splitlines()) <= 88
    assert run_cli("-C", str(root), "fmt", "--check").exit_code == 0


def test_fmt_check_diff_prints_a_unified_diff(project: Callable[..., Path]) -> None:
    root = project({"t.yaml": "steps:\n- title: A\ntitle: T\n"})
    result = run_cli("-C", str(root), "fmt", "--check", "--diff")
    assert result.exit_code == 1
    name = f"{root}/templates/t.yaml"
    assert result.stdout == (
        f"would reformat {name}\n"
        f"--- {name}\n+++ {name}\n"
        "@@ -1,3 +1,3 @@\n"
        "+title: T\n"
        " steps:\n"
        "-- title: A\n"
        "-title: T\n"
        "+  - title: A\n"
    )
    assert (root / "templates/t.yaml").read_text() == "steps:\n- title: A\ntitle: T\n"


def test_fmt_check_fails_on_a_file_validate_refuses(project: Callable[..., Path]) -> None:
    root = project({"t.yaml": "title: T\nstesp: []\n"})
    result = run_cli("-C", str(root), "fmt", "--check")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"{root}/templates/t.yaml:2:1: error: unknown key 'stesp'; did you mean 'steps'?\n"
    )


def test_validate_takes_files_like_fmt(project: Callable[..., Path]) -> None:
    root = project({"good.yaml": "title: Good\n", "bad.yaml": "title: Bad\nstesp: []\n"})
    good = run_cli("-C", str(root), "validate", str(root / "templates/good.yaml"))
    assert (good.exit_code, good.stdout) == (0, "1 template valid.\n")
    bad = run_cli("validate", str(root / "templates/bad.yaml"), "-C", str(root))
    assert bad.exit_code == 1
    assert "bad.yaml:2:1: error: unknown key 'stesp'; did you mean 'steps'?" in bad.stderr


def test_fmt_leaves_a_file_validate_refuses_and_says_why(project: Callable[..., Path]) -> None:
    """A typo in a key: fmt would move the unknown key to the end; it leaves the file, shows
    validate's message and exits 1, and still formats the valid files beside it."""
    root = project(
        {
            "typo.yaml": "title: T\nsteps:\n  - sumary: S\n    title: A\n",
            "fine.yaml": "steps:\n- title: A\ntitle: F\n",
        }
    )
    typo = root / "templates/typo.yaml"
    before = typo.read_bytes()
    result = run_cli("-C", str(root), "fmt")
    assert result.exit_code == 1, result.output
    assert "typo.yaml:3:5: error: unknown key 'sumary'; did you mean 'summary'?" in result.stderr
    assert "typo.yaml: left as it is until validate accepts it" in result.stderr
    assert typo.read_bytes() == before
    assert (root / "templates/fine.yaml").read_text() == "title: F\nsteps:\n  - title: A\n"
