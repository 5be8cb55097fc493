"""One exception hierarchy for misuse and bad input.

Each error also derives from the matching builtin so callers can catch either.
Candidate failures are never exceptions: they are data (see ``evaluation``).
"""

from __future__ import annotations


class CambrianError(Exception):
    """Base of every error Cambrian raises on purpose."""


class ConfigError(CambrianError, ValueError):
    """A configuration value is unknown, of the wrong type or out of range."""


class ProblemError(CambrianError, ValueError):
    """A problem directory is missing files or its program has bad markers."""


class StoreError(CambrianError, RuntimeError):
    """A store is missing, corrupt or was not written by Cambrian."""


class InitialProgramError(CambrianError, RuntimeError):
    """The initial program does not evaluate: there is nothing to evolve from."""

    detail: str = ""   # its traceback and stderr, shown in full before the one-line error


class NothingToDo(CambrianError):
    """The command would change nothing (a resumed run has already done its budget); not a failure."""
