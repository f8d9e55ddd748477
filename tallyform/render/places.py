"""Where a problem is shown: its file relative to the repository's root, as GitHub
annotates files (``validate --format github``, and ``check`` and ``test``'s findings).

The root is GitHub's checkout (``GITHUB_WORKSPACE``) when the working folder is inside
it, else the nearest folder above with a ``.git`` (a folder, or a file in a git
worktree); outside any repository, files are shown as they are.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from tallyform.config import Location, Problem
from tallyform.render.problems import Report


def repository_root(start: Path) -> Path | None:
    """The root of the repository holding ``start``: GitHub's checkout (GITHUB_WORKSPACE)
    when ``start`` is inside it, else the nearest folder above with a ``.git`` (a folder,
    or a file in a git worktree); None outside any repository."""
    workspace = os.environ.get("GITHUB_WORKSPACE")
    if workspace:
        root = Path(os.path.realpath(workspace))
        if root == start or root in start.parents:
            return root
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def from_repository_root(file: str, root: Path | None) -> str:
    """``file`` (as problems name it: relative to the working directory, or absolute)
    relative to the repository's root, with forward slashes; unchanged outside it."""
    if root is None:
        return file
    absolute = Path(os.path.abspath(file))
    for base in (root, Path(os.path.abspath(root))):
        if base in absolute.parents:
            return absolute.relative_to(base).as_posix()
    return file


def working_root() -> Path | None:
    """The root of the repository holding the working folder (None outside any)."""
    return repository_root(Path(os.path.realpath(Path.cwd())))


def from_root(location: Location, root: Path | None) -> Location:
    """``location`` with its file relative to ``root``, as GitHub annotates files."""
    return Location(from_repository_root(location.file, root), location.line, location.column)


def moved_problems(problems: list[Problem], root: Path | None) -> list[Problem]:
    """Each problem with its file relative to ``root``."""
    return [dataclasses.replace(p, location=from_root(p.location, root)) for p in problems]


def in_repository(report: Report) -> Report:
    """The report with every problem's file relative to the repository's root."""
    return dataclasses.replace(report, problems=moved_problems(report.problems, working_root()))
