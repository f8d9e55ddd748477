"""The user's project: finding ``tallyform.yaml``, its settings, and its template files.

``load_project`` and ``load_templates`` never raise for bad input: they return what they
could read plus every problem found, so ``validate`` reports all of them in one run.
Only a missing ``tallyform.yaml`` is fatal (:class:`ConfigError`).
"""

from __future__ import annotations

import dataclasses
import gc
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tallyform.bounded import kind_of
from tallyform.config import suggest
from tallyform.config.schema import check_against_schema
from tallyform.config.semantics import check_template_document, check_template_keys
from tallyform.config.source import Document, Location, Problem, load_file
from tallyform.config.urls import url_problem
from tallyform.config.variables import substitute
from tallyform.errors import TallyformError
from tallyform.model import Template, slugify

CONFIG_NAME = "tallyform.yaml"
DEFAULT_API_URL = "https://go.tallyfy.com/api"
DEFAULT_TOKEN_ENV = "TALLYFY_API_TOKEN"
DEFAULT_REQUESTS_PER_MINUTE = 600  # Tallyfy's documented limit per user
TEMPLATE_SUFFIXES = (".yaml", ".yml")


class ConfigError(TallyformError):
    """The project cannot be read at all (for example, no tallyform.yaml)."""


@dataclass(frozen=True)
class OrgSettings:
    """One organization the project can plan against."""

    name: str
    emulator: Path | None = None
    org_id: str | None = None
    api_url: str = DEFAULT_API_URL
    token_env: str = DEFAULT_TOKEN_ENV
    client_id_env: str | None = None
    client_secret_env: str | None = None
    token_url: str | None = None
    act_as: str | None = None  # an application acts as this member (email), reference 2.4
    requests_per_minute: int | None = DEFAULT_REQUESTS_PER_MINUTE
    applies_to: dict[str, str] = field(default_factory=dict)  # record kind -> API value
    variables: dict[str, str] = field(default_factory=dict)  # ${name} in template values

    @property
    def is_emulated(self) -> bool:
        return self.emulator is not None


@dataclass
class Project:
    config_file: Path
    templates_dir: Path
    default_org: str | None
    orgs: dict[str, OrgSettings] = field(default_factory=dict)
    max_delete_share: float = 0.3
    delete_share_minimum: int = 10  # below this many managed templates the share is not applied
    checks: dict[str, str] = field(default_factory=dict)  # check name -> error|warning|off

    @property
    def root(self) -> Path:
        return self.config_file.parent

    def org(self, name: str | None) -> OrgSettings:
        """The org called ``name``, or the default one; ConfigError if there is none."""
        chosen = name or self.default_org
        if chosen is None:
            raise ConfigError(
                f"{display_path(self.config_file)}: no `default_org:`; pass --org NAME"
            )
        if chosen not in self.orgs:
            raise ConfigError(
                f"no org called '{chosen}' in {display_path(self.config_file)}; "
                + suggest.advice(chosen, self.orgs, "orgs there")
            )
        return self.orgs[chosen]


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it is below it."""
    try:
        return (
            os.path.relpath(path)
            if path.is_absolute() and Path.cwd() in path.parents
            else str(path)
        )
    except ValueError:
        return str(path)


def find_config(directory: Path | None = None, config_file: Path | None = None) -> Path:
    """The project's tallyform.yaml: given directly, in ``directory``, or in a parent of the cwd."""
    if config_file is not None:
        if not _is_config(config_file):
            raise ConfigError(f"{config_file}: no such file")
        return config_file.resolve()
    if directory is not None:
        candidate = directory / CONFIG_NAME
        if not _is_config(candidate):
            raise ConfigError(
                f"no {CONFIG_NAME} in {directory}; run `tallyform init {directory}` to start a project there"
            )
        return candidate.resolve()
    start = Path.cwd()
    for folder in (start, *start.parents):
        if _is_config(folder / CONFIG_NAME):
            return (folder / CONFIG_NAME).resolve()
    raise ConfigError(
        f"no {CONFIG_NAME} in {start} or any folder above it; "
        "run `tallyform init` to start a project, or pass -C DIR"
    )


def _is_config(path: Path) -> bool:
    """Whether a project file is there; ConfigError if something that is not a regular
    file (a FIFO, a device) is, since reading it could wait or never end."""
    try:
        kind = kind_of(path.stat().st_mode)
    except OSError:
        return False
    if kind is not None and kind != "a folder":
        raise ConfigError(f"{path}: it is {kind}, not a regular file; it was not read")
    return kind is None


def _project_problems(document: Document, data: dict[str, Any], root: Path) -> list[Problem]:
    problems: list[Problem] = []
    orgs = data.get("orgs", {})
    for name, org in orgs.items():
        if ("emulator" in org) == ("org_id" in org):
            problems.append(
                Problem(
                    document.key_at(("orgs", name)),
                    f"org '{name}' needs either `emulator: FILE` (the embedded emulator) or `org_id:` (a Tallyfy org)",
                )
            )
        problems += _url_problems(document, name, org)
        if "act_as" in org and "client_id_env" not in org:
            problems.append(
                Problem(
                    document.key_at(("orgs", name, "act_as")),
                    f"org '{name}' sets `act_as:` without an application: an application's "
                    "token mints the user's token, so set `client_id_env:` and "
                    "`client_secret_env:` too (a personal access token already acts as its owner)",
                )
            )
    default = data.get("default_org")
    if default is not None and default not in orgs:
        problems.append(
            Problem(
                document.at(("default_org",)),
                f"no org called '{default}' under `orgs:`; "
                + suggest.advice(str(default), orgs, "orgs there", sort=False),
            )
        )
    templates = root / data.get("templates", "templates")
    if not _inside(templates, root):
        problems.append(
            Problem(
                document.at(("templates",)),
                f"the templates folder must be inside the project; {display_path(templates)} "
                f"is {os.path.realpath(templates)}, outside {os.path.realpath(root)}",
            )
        )
    elif not templates.is_dir():
        problems.append(
            Problem(
                document.at(("templates",)),
                f"the templates folder {display_path(templates)} does not exist",
            )
        )
    return problems


def _url_problems(document: Document, name: str, org: dict[str, Any]) -> list[Problem]:
    """``api_url`` and ``token_url`` must be URLs that credentials can safely go to."""
    insecure = org.get("allow_insecure_http") is True
    return [
        Problem(document.at(("orgs", name, setting)), problem)
        for setting in ("api_url", "token_url")
        if isinstance(org.get(setting), str)
        and (problem := url_problem(org[setting], setting, insecure)) is not None
    ]


def _org_settings(name: str, data: dict[str, Any], root: Path) -> OrgSettings:
    return OrgSettings(
        name=name,
        emulator=(root / data["emulator"]) if "emulator" in data else None,
        org_id=data.get("org_id"),
        api_url=data.get("api_url", DEFAULT_API_URL).rstrip("/"),
        token_env=data.get("token_env", DEFAULT_TOKEN_ENV),
        client_id_env=data.get("client_id_env"),
        client_secret_env=data.get("client_secret_env"),
        token_url=data.get("token_url"),
        act_as=data.get("act_as"),
        requests_per_minute=data.get("requests_per_minute", DEFAULT_REQUESTS_PER_MINUTE) or None,
        applies_to=dict(data.get("applies_to") or {}),
        variables={
            name: _variable_text(value) for name, value in (data.get("variables") or {}).items()
        },
    )


def _variable_text(value: Any) -> str:
    """A variable's value as the text put in place of ``${name}`` (true is "true")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def load_project(config_file: Path) -> tuple[Project | None, list[Problem]]:
    """Read tallyform.yaml; the project is None when the file has problems."""
    display = display_path(config_file)
    document, problems = load_file(config_file, display)
    if problems:
        return None, problems
    if not isinstance(document.data, dict):
        got = (
            "nothing"
            if document.data is None
            else "a list"
            if isinstance(document.data, list)
            else "a single value"
        )
        return None, [
            Problem(
                Location(display, 1, 1),
                f"{CONFIG_NAME} must be a mapping with `version: 1` and `orgs:`; it holds {got}",
            )
        ]
    problems = check_against_schema(document, "project")
    root = config_file.parent
    if problems:
        return None, problems
    data = document.data
    problems = _project_problems(document, data, root)
    if problems:
        return None, problems
    orgs = {name: _org_settings(name, org, root) for name, org in data["orgs"].items()}
    default = data.get("default_org") or (next(iter(orgs)) if len(orgs) == 1 else None)
    project = Project(
        config_file=config_file,
        templates_dir=root / data.get("templates", "templates"),
        default_org=default,
        orgs=orgs,
        max_delete_share=float(data.get("max_delete_share", 0.3)),
        delete_share_minimum=int(data.get("delete_share_minimum", 10)),
        checks=dict(data.get("checks") or {}),
    )
    return project, []


def _inside(path: Path, root: Path) -> bool:
    """Whether ``path``, symlinks followed, is inside the folder ``root``."""
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(root))


def _refused(path: Path, why: str) -> Problem:
    return Problem(Location(display_path(path), 1, 1), why)


def _scan_templates(project: Project) -> tuple[list[Path], list[Problem]]:
    """Template files in the templates folder and its subfolders, and what was refused.

    Folders whose names start with '.' are skipped. A symlink (to a file or a folder)
    that leads outside the project is refused, never followed; a folder reached twice
    through symlinks is read once.
    """
    found: list[Path] = []
    refused: list[Problem] = []
    folders = [project.templates_dir]
    seen = {os.path.realpath(project.templates_dir)}
    while folders:
        folder = folders.pop()
        try:
            entries = sorted(folder.iterdir())
        except OSError as error:
            refused.append(_refused(folder, f"cannot read the folder: {error.strerror or error}"))
            continue
        for entry in entries:
            if entry.is_symlink() and not _inside(entry, project.root):
                if entry.is_dir() or entry.suffix in TEMPLATE_SUFFIXES:
                    refused.append(
                        _refused(
                            entry,
                            f"this symlink leads outside the project (to "
                            f"{os.path.realpath(entry)}); tallyform reads templates only "
                            "from inside the project, so it was not followed",
                        )
                    )
            elif entry.is_dir():
                if not entry.name.startswith(".") and os.path.realpath(entry) not in seen:
                    seen.add(os.path.realpath(entry))
                    folders.append(entry)
            elif entry.suffix in TEMPLATE_SUFFIXES and (entry.is_file() or entry.is_symlink()):
                found.append(entry)
            elif not entry.is_symlink() and not entry.is_file():
                refused += _special_file(entry)
    return sorted(found), refused


def _special_file(entry: Path) -> list[Problem]:
    """A FIFO, device or socket among the templates: reported, never opened."""
    try:
        kind = kind_of(entry.lstat().st_mode)
    except OSError:  # gone since the folder was listed
        return []
    return [
        _refused(
            entry,
            f"this is {kind}, not a regular file; tallyform reads templates only from "
            "regular files, so it was not read",
        )
    ]


def template_files(project: Project) -> list[Path]:
    """Template files of the project, subfolders included, in a stable order."""
    return _scan_templates(project)[0]


def template_folder_problems(project: Project) -> list[Problem]:
    """Symlinks leading outside the project, and folders that cannot be read."""
    return _scan_templates(project)[1]


def load_template_file(
    path: Path, orgs: Sequence[OrgSettings] = (), read: Document | None = None
) -> tuple[Template | None, list[Problem]]:
    """Read, schema-check and semantically check one template file.

    A file that holds ``${name}`` is checked once for each of ``orgs`` with that org's
    variables put in (:mod:`.variables`); the template returned has the first org's.
    ``read``: the file's document when the caller has read it already (fmt).
    """
    display = display_path(path)
    if read is not None:
        document, problems = dataclasses.replace(read, file=display), list[Problem]()
    else:
        document, problems = load_file(path, display)
    if problems:
        return None, problems
    if not orgs:
        return _checked_template(document, path)
    first: Template | None = None
    seen: dict[tuple[Location, str], Problem] = {}
    for index, org in enumerate(orgs):
        filled = substitute(document, org.variables, org.name)
        if index == 0 and not filled.problems and not filled.filled:
            return _checked_template(document, path)  # no variables in it: check once
        template, found = _checked_template(filled.document, path)
        for problem in [*filled.problems, *(filled.explain(p, org.name) for p in found)]:
            seen.setdefault((problem.location, problem.message), problem)
        if index == 0:
            first = template
    problems = sorted(seen.values())
    return (first if not problems else None), problems


def _checked_template(document: Document, path: Path) -> tuple[Template | None, list[Problem]]:
    display = document.file
    if not isinstance(document.data, dict):
        got = (
            "is empty"
            if document.data is None
            else "holds a list"
            if isinstance(document.data, list)
            else "holds a single value"
        )
        return None, [
            Problem(
                Location(display, 1, 1),
                f"a template file must be a mapping with at least `title:`; this one {got}",
            )
        ]
    default_key = slugify(path.stem)
    template, problems = check_template_document(document, default_key)
    if not default_key and "key" not in document.data:
        return None, [
            Problem(
                Location(display, 1, 1),
                f"cannot make a key from the file name {path.name!r}; add `key:`",
            ),
            *problems,
        ]
    return template, problems


def load_templates(
    project: Project, org: OrgSettings | None = None
) -> tuple[list[Template], list[Problem]]:
    """Every template of the project, and every problem in any of them.

    ``${name}`` takes ``org``'s variables; without an org (``validate``), each file that
    uses variables is checked for every org of the project.
    """
    orgs = [org] if org is not None else list(project.orgs.values())
    templates: list[Template] = []
    problems: list[Problem] = template_folder_problems(project)
    try:
        for path in template_files(project):
            # What was read so far stays until the command ends. Python's cyclic garbage
            # collector would look at it again and again as it piles up (half the time of
            # reading 1,000 files); frozen, it is left alone, and garbage is still freed.
            gc.freeze()
            template, found = load_template_file(path, orgs)
            problems += found
            if template is not None:
                templates.append(template)
    finally:
        gc.unfreeze()
    problems += check_template_keys(templates)
    return templates, problems
