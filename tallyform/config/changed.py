"""Which templates changed since a git ref (``plan --changed-since REF``), read from git.

A template counts as changed when its file was added, modified or deleted between REF
and the working tree (uncommitted and untracked files included, as a pull request's
checkout has them). Each changed template is named by its key and its titles: the file's own
and, if the change renamed it, the one it had at REF (the org may still show that one);
for a file deleted (or whose key was edited away), the title it had at REF. When ``tallyform.yaml`` itself changed, every template may have (its
variables, its orgs), so no partial answer is given.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tallyform.config.project import OrgSettings, Project, load_template_file
from tallyform.config.source import parse_text
from tallyform.errors import TallyformError
from tallyform.model import slugify

GIT_TIMEOUT = 60.0


class GitError(TallyformError):
    """git could not say what changed (no repository, an unknown ref); the message says why."""


@dataclass
class ChangedTemplates:
    """The templates whose files changed since a ref; ``everything`` when the settings did."""

    ref: str
    titles: dict[str, tuple[str, ...]] = field(default_factory=dict)  # key -> its titles
    everything: bool = False


def run_git(root: Path, *args: str) -> str:
    """``git -C ROOT ARGS``'s output; GitError (saying why) if it cannot run or fails."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise GitError("--changed-since needs git, which is not installed") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} took over {GIT_TIMEOUT:.0f} s") from None
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
        raise GitError(f"git {args[0]}: {reason}")
    return done.stdout


def _at_ref(root: Path, ref: str, relative: str) -> tuple[str | None, str | None]:
    """The key and title a template file had at ``ref`` (None for what it lacked)."""
    try:
        text = run_git(root, "show", f"{ref}:{relative}")
    except GitError:
        return None, None
    document, problems = parse_text(text, relative)
    data = document.data if not problems and isinstance(document.data, dict) else {}
    key = data.get("key") or slugify(Path(relative).stem) or None
    title = data.get("title")
    return (str(key) if key else None), (str(title) if isinstance(title, str) else None)


def changed_templates(project: Project, ref: str, org: OrgSettings) -> ChangedTemplates:
    """The templates changed since ``ref``; GitError when git cannot tell."""
    try:
        root = Path(run_git(project.root, "rev-parse", "--show-toplevel").strip())
    except GitError as error:
        if "not a git repository" not in str(error):
            raise
        raise GitError(
            f"{project.root} is not in a git repository; run it in the repository's "
            "checkout, or plan every template (leave out --changed-since)"
        ) from None
    try:
        run_git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except GitError:
        raise GitError(
            f"this repository has no branch, tag or commit called '{ref}'; name one it has "
            "(`git branch -a` lists branches). In CI, fetch it first: a shallow checkout "
            "holds only its own commit (`git fetch origin main`, then --changed-since "
            "origin/main)"
        ) from None
    result = ChangedTemplates(ref)
    folder = project.templates_dir.resolve()
    config = project.config_file.resolve()
    listed = run_git(root, "diff", "--name-status", "--no-renames", "-z", ref, "--")
    entries = listed.split("\0")
    paths = [(entries[i], entries[i + 1]) for i in range(0, len(entries) - 1, 2)]
    untracked = run_git(root, "ls-files", "--others", "--exclude-standard", "-z", "--", str(folder))
    paths += [("A", p) for p in untracked.split("\0") if p]
    for status, relative in paths:
        path = (root / relative).resolve()
        if path == config:
            result.everything = True
            return result
        if not path.is_relative_to(folder) or path.suffix not in (".yaml", ".yml"):
            continue
        old_key, old_title = _at_ref(root, ref, relative) if status != "A" else (None, None)
        if path.exists():
            template, _ = load_template_file(path, [org])
            if template is not None:
                was = (old_title,) if old_key == template.key and old_title else ()
                result.titles[template.key] = tuple(dict.fromkeys((template.title, *was)))
            else:
                result.everything = True  # a broken file: plan will report it
                return result
        if old_key and old_key not in result.titles:
            result.titles[old_key] = (old_title or old_key,)
    return result


__all__ = ["ChangedTemplates", "GitError", "changed_templates"]
