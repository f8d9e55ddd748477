"""Which of the project's templates a command of the rules' logic (``check``, ``test``,
``graph``) works on: files or keys named on the command line, or every template."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from tallyform.config import OrgSettings, Problem, Project, load_templates
from tallyform.config.suggest import advice
from tallyform.model import Template


def _real(path: str) -> str:
    return os.path.realpath(path)


def _file_of(template: Template) -> str | None:
    return _real(template.origin.locate().file) if template.origin is not None else None


def select_templates(
    project: Project, wanted: Sequence[str], org: OrgSettings | None = None
) -> tuple[list[Template], list[Problem], list[str]]:
    """The project's valid templates named by ``wanted`` (files or keys; all when empty),
    the problems of the files they come from, and what is wrong with each name that
    matches nothing (with the key it may be a misspelling of).
    ``org``: whose variables the files take (every org's, checked, without one)."""
    templates, problems = load_templates(project, org)
    if not wanted:
        return templates, problems, []
    by_file = {_file_of(t): t for t in templates}
    chosen: dict[str, Template] = {}
    files: set[str] = set()
    unknown: list[str] = []
    for name in wanted:
        if Path(name).is_file():
            files.add(_real(name))
            if _real(name) in by_file:
                chosen[by_file[_real(name)].key] = by_file[_real(name)]
            continue
        matches = [t for t in templates if t.key == name]
        chosen.update((t.key, t) for t in matches)
        if not matches:
            unknown.append(name)
    files |= {f for t in chosen.values() if (f := _file_of(t)) is not None}
    kept = [p for p in problems if _real(p.location.file) in files]
    said = unknown_names(unknown, [t.key for t in templates])
    return [t for t in templates if t.key in chosen], kept, said


def unknown_names(names: list[str], keys: Sequence[str]) -> list[str]:
    """Why each name is not a template: no file or key by it, and the keys there are."""
    return [
        f"no template file or key '{name}'; {advice(name, keys, 'template keys')} (a file "
        "that validate finds problems in has no key yet)"
        for name in names
    ]
