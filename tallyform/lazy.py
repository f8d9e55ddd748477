"""Names a package imports on first use (PEP 562), so quick commands start light.

A package's ``__init__`` lists which of its modules holds each name and sets
``__getattr__ = lazy_names(__name__, names)``; ``from package import name`` then imports
that one module when it is first asked for, and keeps the name in the package after.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping


def lazy_names(package: str, modules: Mapping[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` that finds each name in ``package.modules[name]``."""

    def find(name: str) -> object:
        if name not in modules:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{modules[name]}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return find
