"""The files ``tallyform export`` writes: where each template goes, its text, and whether
writing it is new, an overwrite, or nothing to do.

Each live template (:func:`~.export.export_org`) becomes one canonical template file (the
form ``fmt`` writes), with the scenarios of the repository's file for its key (Tallyfy
does not hold them). It goes to the repository's file for its key if that is in the
folder exported to, else to the org's folder path (``Finance/Purchasing`` ->
``templates/finance/purchasing/KEY.yaml``). A file that differs only in form (formatting,
key order, a default written out) means the same, as plan reads it, and is left as it
is; one that means something else is ``kept`` unless ``force``.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from tallyform.bounded import FileRefused, read_bounded
from tallyform.client import TallyfyClient
from tallyform.config import OrgSettings, Project
from tallyform.config.fmt import format_text
from tallyform.config.project import display_path, load_template_file, template_files
from tallyform.config.semantics import check_template_document
from tallyform.config.source import MAX_FILE_BYTES, Problem, parse_text
from tallyform.engine.export import Exported, export_org
from tallyform.engine.session import org_readings
from tallyform.errors import TallyformError
from tallyform.model import Template, slugify
from tallyform.model.changes import Conflict
from tallyform.model.state import desired_state
from tallyform.parallel import DEFAULT_WORKERS
from tallyform.tallyfy.read import read_org

# "same": the file differs from the export in form only (formatting, key order, a default
# written out); it means the same, so it is left as it is and adopted like an unchanged one.
Status = Literal["new", "updated", "unchanged", "same", "kept"]
STATUSES: tuple[Status, ...] = ("new", "updated", "unchanged", "same", "kept")


class ExportBug(TallyformError):
    """Export made a file that does not validate: a bug in tallyform."""


@dataclass
class ExportFile:
    """One exported template's file: where, its text, and what writing it does."""

    template: Exported
    path: Path
    text: str
    status: Status
    declared: Template  # the text read back as validate reads it


@dataclass
class ExportedFiles:
    """What reading the org gave: each template's file, and what could not be exported."""

    files: list[ExportFile] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # templates left out, and why


@dataclass
class Repository:
    """The templates the repository declares, and the file each key lives in."""

    templates: dict[str, Template] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)


def read_repository(project: Project, org: OrgSettings) -> Repository:
    """The repository's templates by key; a file that does not load still claims its key."""
    repo = Repository()
    for path in template_files(project):
        template, _ = load_template_file(path, [org])
        key = template.key if template is not None else slugify(path.stem)
        repo.paths.setdefault(key, path)
        if template is not None:
            repo.templates.setdefault(key, template)
    return repo


def file_text(document: dict[str, Any]) -> str:
    """A template document as canonical YAML, exactly as ``fmt`` would write it."""
    dumped = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=1000)
    return format_text(dumped)


def schema_comment(path: Path, project: Project) -> str:
    """The editor hint ``init`` writes, when the project keeps the schemas (``schemas/``)."""
    schema = project.root / "schemas" / "template.schema.json"
    if not schema.is_file():
        return ""
    relative = os.path.relpath(schema, path.parent).replace(os.sep, "/")
    return f"# yaml-language-server: $schema={relative}\n"


def read_back(text: str, display: str, key: str) -> tuple[Template | None, list[Problem]]:
    """The text as validate reads it, and what validate would say (nothing, unless export
    has a bug)."""
    document, problems = parse_text(text, display)
    if problems:
        return None, problems
    return check_template_document(document, key)


def target_path(exported: Exported, folder: Path, repo: Repository) -> Path:
    """The repository's file for the key if it is in ``folder``, else one by the org's folder."""
    known = repo.paths.get(exported.key)
    if known is not None and known.resolve().is_relative_to(folder.resolve()):
        return known
    parts = [slugify(part) or "folder" for part in (exported.folder or "").split("/") if part]
    return folder.joinpath(*parts, f"{exported.key}.yaml")


def _current(path: Path) -> str | None:
    """The file's text; None when it cannot be read (a FIFO or device too: never read)."""
    try:
        return read_bounded(path, MAX_FILE_BYTES).decode("utf-8")
    except (OSError, FileRefused, UnicodeDecodeError):
        return None


def file_status(path: Path, text: str, force: bool, declared: Template, org: OrgSettings) -> Status:
    """What writing ``text`` to ``path`` would be."""
    if not path.exists():
        return "new"
    current = _current(path)
    if current == text:
        return "unchanged"
    if current is not None:
        written, _ = load_template_file(path, [org])
        if written is not None and meaning(written) == meaning(declared):
            return "same"
    return "updated" if force else "kept"


def meaning(template: Template) -> Any:
    """What a declared template means, as plan compares it: its normalised state (defaults
    filled in, a one-condition rule's match as plan reads it, people and tags sorted), and
    its scenarios, without where anything was written or whether a key was written out."""
    state = desired_state(template)
    return (
        state.attrs,
        [(key, item.attrs) for key, item in state.kickoff.items()],
        [(key, step.attrs) for key, step in state.steps.items()],
        [(key, item.step, item.attrs) for key, item in state.fields.items()],
        [(name, state.rules[name].attrs) for name in sorted(state.rules)],
        sorted(state.tags),
        _plain(template.tests),
    )


def _plain(value: Any) -> Any:
    """A value of the model as plain, comparable data, without origins."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return tuple(
            (part.name, _plain(getattr(value, part.name)))
            for part in dataclasses.fields(value)
            if part.name not in ("origin", "key_written")
        )
    if isinstance(value, list | tuple):
        return tuple(_plain(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted(((str(k), _plain(v)) for k, v in value.items()), key=repr))
    return value


def file_diff(item: ExportFile) -> str:
    """How the repository's file differs from what the org holds, as a unified diff."""
    current = _current(item.path)
    if current is None:
        return ""
    shown = display_path(item.path)
    lines = difflib.unified_diff(
        current.splitlines(keepends=True),
        item.text.splitlines(keepends=True),
        f"{shown} (the repository)",
        f"{shown} (the org)",
    )
    return "".join(lines)


def _with_tests(exported: Exported, repo: Repository) -> dict[str, Any]:
    """The exported document, with the scenarios (`tests:`) of the repository's file for
    its key: Tallyfy does not hold them, and exporting must not lose them."""
    declared = repo.templates.get(exported.key)
    if declared is None or not declared.tests or declared.origin is None:
        return exported.document
    return {**exported.document, "tests": declared.origin.data("tests")}


def export_files(
    client: TallyfyClient,
    org: OrgSettings,
    project: Project,
    repo: Repository,
    folder: Path,
    only: tuple[str, ...] = (),
    force: bool = False,
    workers: int = DEFAULT_WORKERS,
) -> ExportedFiles:
    """Read the org (``workers`` requests at once) and make the file of each template
    ``only`` selects (globs; all without), in key order."""
    applies_to = org_readings(project, org, client.org_id).applies_to
    live = read_org(client, applies_to, workers=workers)

    def wanted(key: str) -> bool:
        return not only or any(fnmatch.fnmatchcase(key, pattern) for pattern in only)

    result = export_org(client, live, repo.templates, wanted, workers)
    found = ExportedFiles(conflicts=result.conflicts, skipped=result.skipped)
    for exported in sorted(result.templates, key=lambda e: e.key):
        path = target_path(exported, folder, repo)
        text = schema_comment(path, project) + file_text(_with_tests(exported, repo))
        declared, problems = read_back(text, display_path(path), exported.key)
        if declared is None:  # only with problems
            raise ExportBug(
                f"export made a file for template {exported.key} that does not validate "
                f"(a bug in tallyform; please report it): {problems[0]}"
            )
        status = file_status(path, text, force, declared, org)
        found.files.append(ExportFile(exported, path, text, status, declared))
    return found


def write_file(item: ExportFile) -> None:
    """Write the file if that changes it (``new`` or ``updated``)."""
    if item.status in ("new", "updated"):
        item.path.parent.mkdir(parents=True, exist_ok=True)
        item.path.write_text(item.text, "utf-8")


__all__ = [
    "STATUSES",
    "ExportBug",
    "ExportFile",
    "ExportedFiles",
    "Repository",
    "Status",
    "export_files",
    "file_diff",
    "meaning",
    "read_repository",
    "write_file",
]
