"""The root of every error tallyform reports to a user, and the exit code it carries.

Each stage raises its own kind (a problem in tallyform.yaml, a refused API call, a damaged
plan file, a locked org, ...), and every kind derives from :class:`TallyformError`, so the
command line catches them in one place (:mod:`tallyform.cli.app`) and exits with the
error's code, as click's exceptions carry theirs. Anything else that escapes is a bug,
reported as one.
"""

from __future__ import annotations


class TallyformError(Exception):
    """An error a user can act on; ``exit_code`` is what the command exits with."""

    exit_code = 1
