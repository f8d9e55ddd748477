"""Generated projects for the benchmarks: N realistic templates as YAML files, in a git repo.

Each template has ten steps of mixed types with assignees and deadlines (some counting
from an earlier step), three form fields a step of every field type (thirty in all), four
kick-off fields, three rules (on a kick-off field, a form field and a step), two tags and
a folder two levels deep (``Department/Team``). Templates are deterministic: template
``n`` is the same in every run, so runs can be compared.

The project's org ``bench`` names an API at ``http://127.0.0.1`` (the benchmark points
it at the served emulator it starts) with the token in :data:`TOKEN_ENV`.
"""

from __future__ import annotations

import copy
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tallyform.emulator import DEFAULT_ORG_ID

TOKEN_ENV = "TALLYFORM_BENCH_TOKEN"
ORG_NAME = "bench"
STEPS = 10
FIELDS_PER_STEP = 3
DEPARTMENTS = ["Finance", "HR", "IT", "Legal", "Support", "Marketing", "Engineering"]
TEAMS = ["Operations", "Projects", "Compliance"]
TAGS = ["quarterly", "audit", "customer", "internal", "urgent", "onboarding", "review"]
USERS = ["alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"]
STEP_TYPES = ["task", "task", "approval", "task", "expiring"]
FIELD_KINDS: list[dict[str, Any]] = [
    {"type": "text", "required": True},
    {"type": "textarea"},
    {"type": "radio", "options": ["Low", "Medium", "High"]},
    {"type": "dropdown", "options": ["Europe", "Americas", "Asia", "Africa", "Oceania"]},
    {"type": "multiselect", "options": ["Email", "Phone", "Chat"]},
    {"type": "date", "collect_time": True},
    {"type": "email", "required": True},
    {"type": "file"},
    {"type": "table", "columns": ["Item", "Quantity", "Cost"]},
    {"type": "text", "validation": ["numeric"]},
]


def template(n: int) -> dict[str, Any]:
    """Template number ``n`` as the mapping its YAML file holds."""
    department = DEPARTMENTS[n % len(DEPARTMENTS)]
    steps: list[dict[str, Any]] = []
    for s in range(1, STEPS + 1):
        step: dict[str, Any] = {
            "key": f"step-{s}",
            "title": f"Step {s} of process {n}",
            "type": STEP_TYPES[(n + s) % len(STEP_TYPES)],
            "summary": f"Do part {s} of the work for process {n}, then record it below.",
            "assignees": {
                "users": [USERS[(n + s) % len(USERS)]],
                "groups": [DEPARTMENTS[(n + s) % len(DEPARTMENTS)]],
            },
            "deadline": {"value": 1 + (n + s) % 5, "unit": "days"},
        }
        if s > 1 and s % 3 == 0:
            step["deadline"]["step"] = f"step-{s - 1}"
        step["fields"] = [
            {
                "key": f"s{s}-f{f}",
                "label": f"Detail {f} of step {s}",
                **copy.deepcopy(FIELD_KINDS[(s * FIELDS_PER_STEP + f + n) % len(FIELD_KINDS)]),
            }
            for f in range(1, FIELDS_PER_STEP + 1)
        ]
        steps.append(step)
    return {
        "key": key(n),
        "title": title(n),
        "type": "procedure",
        "summary": f"Generated process {n} for the {department} department.",
        "kickoff": [
            {"key": "requester", "label": "Requester", "type": "text", "required": True},
            {"key": "amount", "label": "Amount (USD)", "type": "text", "validation": ["numeric"]},
            {
                "key": "priority",
                "label": "Priority",
                "type": "dropdown",
                "options": ["Low", "Normal", "High"],
            },
            {"key": "due", "label": "Needed by", "type": "date"},
        ],
        "steps": steps,
        "tags": [TAGS[n % len(TAGS)], TAGS[(n + 3) % len(TAGS)]],
        "folder": f"{department}/{TEAMS[n % len(TEAMS)]}",
        "rules": [
            {
                "name": "Skip step 2 for small amounts",
                "when": [{"field": "amount", "is": "less_than", "value": 100}],
                "then": [{"hide": "step-2"}],
            },
            {
                "name": "High priority gets a short deadline",
                "when": [{"field": "priority", "is": "equals", "value": "High"}],
                "then": [{"deadline": "step-4", "value": 4, "unit": "hours", "option": "from"}],
            },
            {
                "name": "Escalate once step 5 is done",
                "match": "any",
                "when": [
                    {"step": "step-5", "is": "completed"},
                    {"field": "s1-f1", "is": "is_empty"},
                ],
                "then": [{"assign": "step-6", "assignees": {"users": [USERS[n % len(USERS)]]}}],
            },
        ],
    }


def key(n: int) -> str:
    return f"process-{n:04d}"


def title(n: int) -> str:
    return f"Process {n:04d}"


def template_path(root: Path, n: int) -> Path:
    department = DEPARTMENTS[n % len(DEPARTMENTS)].lower()
    return root / "templates" / department / f"{key(n)}.yaml"


def write_project(root: Path, count: int, api_url: str = "http://127.0.0.1:1/api") -> None:
    """A project of ``count`` templates at ``root``, committed to a new git repository."""
    root.mkdir(parents=True, exist_ok=True)
    settings = {
        "version": 1,
        "templates": "templates",
        "default_org": ORG_NAME,
        "orgs": {
            ORG_NAME: {
                "org_id": DEFAULT_ORG_ID,
                "api_url": api_url,
                "token_env": TOKEN_ENV,
            }
        },
    }
    (root / "tallyform.yaml").write_text(yaml.safe_dump(settings, sort_keys=False), "utf-8")
    (root / ".gitignore").write_text(".tallyform/\n", "utf-8")
    for n in range(1, count + 1):
        path = template_path(root, n)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(template(n), sort_keys=False, width=100), "utf-8")
    git(root, "init", "--quiet")
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "-m", f"{count} generated templates")


def edit_title(root: Path, n: int, suffix: str) -> Path:
    """Change the title of template ``n``'s first step (an update of one step); its file."""
    path = template_path(root, n)
    data = yaml.safe_load(path.read_text("utf-8"))
    data["steps"][0]["title"] += suffix
    path.write_text(yaml.safe_dump(data, sort_keys=False, width=100), "utf-8")
    return path


def git(root: Path, *args: str) -> None:
    subprocess.run(
        [
            "git",
            "-C",
            str(root),
            "-c",
            "user.name=tallyform benchmark",
            "-c",
            "user.email=bench@example.com",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        check=True,
        capture_output=True,
    )
