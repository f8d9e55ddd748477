"""``tallyform init``: the files of a new project.

Its default org is the embedded emulator, with a starter template to try. For bringing
an existing org under version control, ``init --empty --org NAME --org-id ID`` writes no
template (``export`` writes the org's own) and adds that Tallyfy org as the default one,
beside the embedded emulator, so ``export`` and ``plan`` go to it without ``--org``.
"""

from __future__ import annotations

import json
from pathlib import Path

from tallyform.config.project import CONFIG_NAME
from tallyform.config.schema import SCHEMA_NAMES, load_schema

PROJECT_FILE = """\
# yaml-language-server: $schema=schemas/project.schema.json
# tallyform project settings. See `tallyform --help`.
version: 1
templates: templates
default_org: local
orgs:
  # The embedded emulator: a local stand-in for Tallyfy, kept in this file.
  local:
    emulator: .tallyform/local-org.json
  # A real organization (the token is read from the environment, never from a file):
  # production:
  #   org_id: 0123456789abcdef0123456789abcdef
  #   token_env: TALLYFY_API_TOKEN
"""

STARTER_TEMPLATE = """\
# yaml-language-server: $schema=../schemas/template.schema.json
key: expense-claim               # keeps the template when the file or the title is renamed
title: Expense claim
type: procedure
summary: Claim back money spent for work.
kickoff:
  - key: amount
    label: Amount (USD)
    type: text
    required: true
    validation: [numeric]
steps:
  - key: submit
    title: Submit receipts
    summary: Upload every receipt and say what each was for.
    assign_run_starter: true     # whoever launches the claim
    fields:
      - key: receipts            # a written key survives a label change
        label: Receipts
        type: file
        required: true
  - key: approve
    title: Manager approval
    type: approval
    assignees: {users: [carol@example.com]}  # the emulator's members: alice, bob...
    deadline: {value: 2, unit: days, step: submit}
tests:                           # `tallyform test` plays these, offline
  - name: A claim goes to the manager
    kickoff:
      amount: 120
    expect:
      shown: [submit, approve]
      assignees: {approve: {users: [carol@example.com]}}
"""

GITIGNORE = """\
# State of the embedded emulator (your local stand-in organization).
.tallyform/
"""


def schema_text(name: str) -> str:
    return json.dumps(load_schema(name), indent=2) + "\n"


def project_file(org: tuple[str, str] | None = None) -> str:
    """tallyform.yaml; with ``org`` (name, id), that Tallyfy org is added as the default."""
    if org is None:
        return PROJECT_FILE
    name, org_id = org
    head, _, _ = PROJECT_FILE.partition("  # A real organization")
    return head.replace("default_org: local", f"default_org: {name}") + (
        "  # The Tallyfy organization: `tallyform plan` and `export` go here unless --org.\n"
        "  # The token is read from the environment, never from a file.\n"
        f"  {name}:\n"
        f"    org_id: {org_id}\n"
        "    token_env: TALLYFY_API_TOKEN\n"
    )


def starter_files(empty: bool = False, org: tuple[str, str] | None = None) -> dict[str, str]:
    """Relative path -> content of every file ``init`` writes.

    ``empty``: no starter template; ``org``: (name, id) of a Tallyfy org made the default.
    """
    files = {CONFIG_NAME: project_file(org), ".gitignore": GITIGNORE}
    if not empty:
        files["templates/expense-claim.yaml"] = STARTER_TEMPLATE
    for name in SCHEMA_NAMES:
        files[f"schemas/{name}.schema.json"] = schema_text(name)
    return files


def write_starter(
    directory: Path, empty: bool = False, org: tuple[str, str] | None = None
) -> list[Path]:
    """Write the starter project into ``directory``; existing files are left alone.

    Raises FileExistsError if the directory already holds a tallyform.yaml.
    """
    if (directory / CONFIG_NAME).exists():
        raise FileExistsError(directory / CONFIG_NAME)
    written = []
    (directory / "templates").mkdir(parents=True, exist_ok=True)
    for relative, content in starter_files(empty, org).items():
        path = directory / relative
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, "utf-8")
        written.append(path)
    return written
