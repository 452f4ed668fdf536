"""The package's error types: every user-facing failure is one of them.

The command line prints a :class:`BrianEPError` as one paragraph (what, where, the fix) and
exits with status 2; anything else is a bug and keeps its traceback. Every other module
imports its exceptions from here, so no package depends on :mod:`brian_ep.spec` (or any
other) just to raise an error.
"""

from __future__ import annotations

import errno as _errno

__all__ = ["BrianEPError", "SpecError", "DataError", "DivergenceError", "ArgumentError", "RegistrationError", "Interrupted",
           "StorageError", "STORAGE_ERRNOS", "storage_problem", "DIVERGENCE_ADVICE"]

#: What to change when the dynamics or the weights diverge (appended to divergence errors).
DIVERGENCE_ADVICE = (
    "Likely causes: a learning rate that is too large, beta too large, or feedback (gamma) so strong that "
    "the dynamics do not contract; lower them in the spec"
)


class BrianEPError(Exception):
    """Base class of the errors that ``brian-ep`` reports as one paragraph.

    ``exit_code`` is the command line's exit status for it (2: refused input)."""

    exit_code = 2


class SpecError(BrianEPError, ValueError):
    """A network spec is malformed or inconsistent.

    Every error names the file, the key (a dotted path such as ``model.hidden[0].size``),
    the problem, and what is allowed.

    Parameters
    ----------
    message : str
        What is wrong, e.g. ``"must be > 0 (got -3)"``.
    key : str, optional
        Dotted path of the offending key, e.g. ``"model.hidden[0].size"``.
    source : str, optional
        The spec file (or ``"<dict>"`` for specs built in Python).
    allowed : str, optional
        What would be accepted, e.g. ``"one of 'rate'"``.
    """

    def __init__(self, message: object, key: str | None = None, source: str | None = None, allowed: str | None = None) -> None:
        self.message = str(message)
        self.key = key
        self.source = source
        self.allowed = allowed
        super().__init__(self.format())

    def with_source(self, source: str | None) -> SpecError:
        """Return the same error with the spec's file name attached."""
        return SpecError(self.message, key=self.key, source=source, allowed=self.allowed)

    def format(self) -> str:
        """The one-paragraph message: ``<file>: key '<key>': <message>. Allowed: <allowed>.``"""
        where = self.source or "spec"
        text = f"{where}: "
        if self.key:
            text += f"key '{self.key}': "
        text += self.message if self.message.endswith(("?", "!", ".")) else self.message + "."
        if self.allowed:
            text += f" Allowed: {self.allowed}."
        return text


class DataError(BrianEPError, OSError):
    """A data set is missing, corrupt, or does not fit the network."""


class DivergenceError(BrianEPError, FloatingPointError):
    """The network dynamics or weights became non-finite or exploded."""


class ArgumentError(BrianEPError):
    """A command-line argument or a Python API argument cannot be used."""


class RegistrationError(BrianEPError, ValueError):
    """A neuron model or engine cannot be registered (its name is taken, or the object is not
    one): the same rule for both registries."""


class Interrupted(BrianEPError):
    """The user stopped a run (Ctrl-C, SIGTERM); the message says what was kept and how to go on.

    The command line exits with ``exit_code``: 130 for Ctrl-C, as a shell does (128 plus the
    signal number)."""

    exit_code = 130

    def __init__(self, message: str, exit_code: int = 130) -> None:
        super().__init__(message)
        self.exit_code = exit_code


#: File-system errors that are the machine's state, not a bug: each with what to do about it.
STORAGE_ERRNOS = {
    _errno.ENOSPC: "free space on that disk (or choose a folder on another one)",
    _errno.EDQUOT: "free space within your disk quota (or choose a folder on another disk)",
    _errno.EFBIG: "raise the file size limit ('ulimit -f') or choose a folder on a file system that allows larger files",
    _errno.EROFS: "choose a folder on a writable file system (or remount this one read-write)",
    _errno.EACCES: "give yourself write permission there (or choose another folder)",
    _errno.EPERM: "give yourself write permission there (or choose another folder)",
    _errno.EIO: "check the disk (an input/output error) or choose a folder on another one",
}


def storage_problem(exc: OSError) -> str | None:
    """``"No space left on device (ENOSPC); to fix: free space ..."`` for the errors of
    :data:`STORAGE_ERRNOS`, else ``None``."""
    code = getattr(exc, "errno", None)
    fix = STORAGE_ERRNOS.get(code) if isinstance(code, int) else None
    if fix is None or not isinstance(code, int):
        return None
    name = _errno.errorcode.get(code, str(code))
    return f"{exc.strerror or name} ({name}); to fix: {fix}"


class StorageError(BrianEPError, OSError):
    """A file could not be written because of the file system (disk full, file too large,
    read-only, no permission); the message names the path, what was kept and the fix."""
