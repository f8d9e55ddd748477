"""The root of every way a command ends other than success, and the exit code it carries.

Each stage raises its own kind (a problem in tallyform.yaml, a refused API call, a damaged
plan file, a locked org, ...), and every kind derives from :class:`TallyformError`, so the
command line catches them in one place (:class:`tallyform.cli.group.TallyformGroup`) and
exits with the error's code, as click's exceptions carry theirs. Anything else that
escapes is a bug, reported as one.

An error's message is printed as ``Error: message``. An :class:`Outcome` has no message:
the command has already said what happened (problems at their lines, the changes not
done, what an interrupt left), or, for :class:`ChangesPresent`, there is nothing to say;
only its exit code is left to give.
"""

from __future__ import annotations


class TallyformError(Exception):
    """An error a user can act on; ``exit_code`` is what the command exits with."""

    exit_code = 1


class Outcome(TallyformError):
    """How a command ended, already told the user: nothing more is printed."""

    def __init__(self) -> None:
        super().__init__("")


class Failed(Outcome):
    """The command failed and has said why (problems, failed checks, changes not done): 1."""


class ChangesPresent(Outcome):
    """``--detailed-exitcode`` and the plan changes something: 2, as Terraform's."""

    exit_code = 2


class Interrupted(Outcome):
    """Ctrl-C ended the command after it said what was and was not done: 130 (128 + SIGINT,
    :data:`tallyform.cli.interrupt.INTERRUPTED`)."""

    exit_code = 130
