"""The offline commands as a user meets them: init, validate, fmt, schema."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, REPO, run_cli


def test_examples_validate_cleanly() -> None:
    result = run_cli("-C", str(EXAMPLES), "validate")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "6 templates valid."


def test_examples_are_in_canonical_form() -> None:
    result = run_cli("-C", str(EXAMPLES), "fmt", "--check")
    assert result.exit_code == 0, result.output
    assert result.output == ""


def test_examples_use_every_field_type_and_step_type() -> None:
    from tallyform.config import find_config, load_project, load_templates

    project, _ = load_project(find_config(EXAMPLES))
    assert project is not None
    templates, problems = load_templates(project)
    assert problems == []
    schema = json.loads((REPO / "schemas/template.schema.json").read_text())
    field_types = set(schema["$defs"]["field"]["properties"]["type"]["enum"])
    step_types = set(schema["properties"]["steps"]["items"]["properties"]["type"]["enum"])
    assert {f.type for t in templates for f in t.all_fields()} == field_types
    assert {s.type for t in templates for s in t.steps} == step_types


def test_every_example_carries_the_schema_modeline() -> None:
    for path in (EXAMPLES / "templates").glob("*.yaml"):
        first = path.read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=../../schemas/template.schema.json", path
        target = (path.parent / "../../schemas/template.schema.json").resolve()
        assert target.is_file()


def test_init_writes_a_project_that_validates(tmp_path: Path) -> None:
    result = run_cli("init", str(tmp_path / "new"))
    assert result.exit_code == 0, result.output
    assert "created" in result.stdout
    assert run_cli("-C", str(tmp_path / "new"), "validate").exit_code == 0
    assert run_cli("-C", str(tmp_path / "new"), "fmt", "--check").exit_code == 0
    config = (tmp_path / "new/tallyform.yaml").read_text()
    assert "emulator: .tallyform/local-org.json" in config
    assert (tmp_path / "new/schemas/template.schema.json").is_file()


def test_init_refuses_to_overwrite_a_project(tmp_path: Path) -> None:
    (tmp_path / "tallyform.yaml").write_text("keep me")
    result = run_cli("init", str(tmp_path))
    assert result.exit_code == 1
    assert "already exists; nothing was written" in result.output
    assert (tmp_path / "tallyform.yaml").read_text() == "keep me"


def test_missing_project_file_says_what_to_do(tmp_path: Path) -> None:
    result = run_cli("-C", str(tmp_path), "validate")
    assert result.exit_code == 1
    assert f"no tallyform.yaml in {tmp_path}" in result.output
    assert "tallyform init" in result.output
    assert "Traceback" not in result.output


def test_usage_errors_exit_1_not_2() -> None:
    result = run_cli("validate", "--bogus")
    assert result.exit_code == 1
    assert "No such option" in result.output


def test_every_problem_is_reported_in_one_run(project: Callable[..., Path]) -> None:
    root = project(
        {
            "a.yaml": "title: A\ntype: wrong\n",
            "b.yaml": "title: B\nsteps:\n  - title: S\n    assignees: {users: [nobody]}\n",
            "c.yaml": "title: [C\n",
        }
    )
    result = run_cli("-C", str(root), "validate")
    assert result.exit_code == 1
    assert "templates/a.yaml:2:7: error:" in result.output
    assert "templates/b.yaml:4:25: error:" in result.output
    assert "templates/c.yaml:2:1: error:" in result.output
    assert "3 problems in 3 files." in result.output


def test_template_keys_are_unique_across_files(project: Callable[..., Path]) -> None:
    root = project(
        {
            "one.yaml": "key: same\ntitle: One\n",
            "two.yaml": "key: same\ntitle: Two\n",
        }
    )
    result = run_cli("-C", str(root), "validate")
    assert result.exit_code == 1
    assert "templates/two.yaml:1:6: error: template key 'same' is already used at " in result.output
    assert "one.yaml:1:6" in result.output


def test_file_stem_is_the_default_template_key(project: Callable[..., Path]) -> None:
    root = project(
        {"Purchase Request.yaml": "title: One\n", "purchase-request.yml": "title: Two\n"}
    )
    result = run_cli("-C", str(root), "validate")
    assert result.exit_code == 1
    assert "template key 'purchase-request' is already used" in result.output


def test_a_pasted_token_is_never_echoed(project: Callable[..., Path]) -> None:
    token = "eyJhbGciOiJSUzI1NiJ9.secret-part"
    config = (
        "version: 1\norgs:\n  prod:\n    org_id: 1505bb7b9ba5f8972ffd3fe1ca18ec0c\n"
        f"    token_env: {token}\n"
    )
    result = run_cli("-C", str(project(config=config)), "validate")
    assert result.exit_code == 1
    assert (
        "tallyform.yaml:5:16: error: this value must be the name of an environment variable"
        in result.output
    )
    assert token not in result.output


@pytest.mark.parametrize("name", ["template", "project"])
def test_schema_command_prints_the_shipped_schema(name: str) -> None:
    result = run_cli("schema", name)
    assert result.exit_code == 0
    assert json.loads(result.stdout) == json.loads(
        (REPO / f"schemas/{name}.schema.json").read_text()
    )


def test_fmt_rewrites_and_then_is_stable(project: Callable[..., Path]) -> None:
    messy = (
        "steps:\n"
        "- fields:\n"
        "  - options:\n"
        "    - 'A'\n"
        "    - B\n"
        "    type: dropdown\n"
        "    label: Pick\n"
        "  title: First   # keep this\n"
        'title: "Messy"\n'
        "# about the tags\n"
        "tags:\n"
        "- x\n"
    )
    root = project({"messy.yaml": messy})
    assert run_cli("-C", str(root), "fmt", "--check").exit_code == 1
    assert (root / "templates/messy.yaml").read_text() == messy, "--check must not write"
    result = run_cli("-C", str(root), "fmt")
    assert result.exit_code == 0
    assert "reformatted" in result.stdout
    formatted = (root / "templates/messy.yaml").read_text()
    assert formatted == (
        "title: Messy\n"
        "steps:\n"
        "  - title: First # keep this\n"
        "    fields:\n"
        "      - label: Pick\n"
        "        type: dropdown\n"
        "        options: [A, B]\n"
        "# about the tags\n"
        "tags: [x]\n"
    )
    again = run_cli("-C", str(root), "fmt")
    assert again.output == ""
    assert (root / "templates/messy.yaml").read_text() == formatted
    assert run_cli("-C", str(root), "validate").exit_code == 0


def test_fmt_reports_unparsable_files_and_leaves_them(project: Callable[..., Path]) -> None:
    root = project({"bad.yaml": "title: [x\n"})
    result = run_cli("-C", str(root), "fmt")
    assert result.exit_code == 1
    assert "not valid YAML, left as it is" in result.output
    assert (root / "templates/bad.yaml").read_text() == "title: [x\n"


def test_validate_starts_without_what_only_other_commands_need() -> None:
    """Start-up counts at every run: validate of valid files loads no API client or planner."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        f"sys.argv = ['tallyform', '-C', {str(EXAMPLES)!r}, 'validate']\n"
        "from tallyform.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ['httpx', 'deepdiff', 'jsonschema', 'ruamel.yaml', 'tallyform.engine',\n"
        "         'tallyform.emulator', 'tallyform.client.api']\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.splitlines() == ["6 templates valid.", "[]"], done.stdout + done.stderr
