"""The package list in pyproject.toml covers every subpackage, so installs ship all code."""

from __future__ import annotations

import re

from tests.conftest import REPO


def _listed_packages() -> set[str]:
    text = (REPO / "pyproject.toml").read_text()
    block = re.search(r"^packages = \[(.*?)\]", text, re.S | re.M)
    assert block, "pyproject.toml lists its packages explicitly"
    return set(re.findall(r'"([\w.]+)"', block.group(1)))


def test_every_subpackage_is_listed_in_pyproject() -> None:
    found = {
        ".".join(init.parent.relative_to(REPO).parts)
        for init in (REPO / "tallyform").rglob("__init__.py")
    }
    assert found | {"tallyform.schemas"} == _listed_packages()
