"""Keep Brian2 from warning about brian_ep's own objects, and only about them.

Three Brian2 warnings are false alarms for the objects the builder makes:

* ``resolution_conflict``: a name used in an EP group's code (``x``, ``w``, ``mask``...) also
  exists in the script that calls ``run`` (Brian2 looks there for external names and says that
  it uses the internal one, which is what the EP objects want: they take every external name
  from their own namespaces);
* ``synapses_dt_mismatch``: synapses whose pathways run on the window clock (once a sample)
  while a group they connect runs every step;
* ``unused_brian_object``: a network that was built and never run (e.g. by an engine that
  was closed before predicting) is garbage collected.

:func:`silence_own_warnings` adds one filter to Brian2's console handler that drops these
warnings only when the object each one is about is registered here: for ``synapses_dt_mismatch``
the source group, the ``Synapses`` object and the target must all be EP objects (a user's
``Synapses`` from a ``PoissonGroup`` into an EP layer is the user's, and Brian2's warning about
it is shown); for ``resolution_conflict`` the group whose code is resolved; for
``unused_brian_object`` the deleted object. Warnings about the user's own objects, and every
other warning, are shown as before. Brian2's report of an uncaught exception (which asks
the user to report a bug in Brian 2) is worded as the package's refusal when a brian_ep error
caused it, with the traceback kept. ``import brian_ep`` installs nothing: the filter is
added when the first network is built.
"""

from __future__ import annotations

import logging
import re

__all__ = ["silence_own_warnings", "own_names", "is_own_record", "package_error"]

#: Brian2 log names (their last component) that are false alarms for EP objects
QUIET = ("resolution_conflict", "synapses_dt_mismatch", "unused_brian_object")

_NAMES: set = set()
_NAME = r"""['"]([A-Za-z_][A-Za-z0-9_]*)['"]"""
#: Per quiet warning, the patterns of the object names it is about (Brian2 2.9's wording):
#: the record is dropped only if each pattern matches and names an EP object. A dt mismatch is
#: about the Synapses object and its target: where both are EP objects, the pathway runs on
#: its source's clock by design (e.g. the counter of a user's spiking group that is the input,
#: :mod:`brian_ep.brian.source`), whoever owns the source.
_SUBJECTS = {
    "synapses_dt_mismatch": (re.compile(r"the Synapses object " + _NAME), re.compile(r"the target " + _NAME)),
    "resolution_conflict": (re.compile(r"(?:internal variable of group|in the context of group) " + _NAME),),
    "unused_brian_object": (re.compile(r"The object " + _NAME + " is getting deleted"),),
}


def is_own_record(kind: str, message: str) -> bool:
    """Whether the Brian2 warning ``kind`` (one of :data:`QUIET`) with text ``message`` is about
    EP objects only (see the module docstring)."""
    names = []
    for pattern in _SUBJECTS.get(kind, ()):
        found = pattern.search(message)
        if found is None:
            return False
        names.append(found.group(1))
    return bool(names) and all(name in _NAMES for name in names)


def package_error(exc):
    """The :class:`~brian_ep.errors.BrianEPError` that ``exc`` is or was caused by (Brian2 wraps
    an error raised while it prepares an object in a ``BrianObjectException``), else ``None``."""
    from ..errors import BrianEPError

    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, BrianEPError):
            return exc
        exc, seen = exc.__cause__, seen + 1
    return None


class _OwnObjectsFilter(logging.Filter):
    """Drops :data:`QUIET` records about registered EP objects only, and words Brian2's report
    of an uncaught error as the package's refusal when a brian_ep error caused it (Brian2's
    text asks to report a bug in Brian 2)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.name == "brian2" and record.levelno >= logging.ERROR:
            refusal = package_error(record.exc_info[1])
            if refusal is not None:
                record.msg, record.args = f"brian_ep refused this: {refusal} (not a bug in Brian 2)", ()
            return True
        kind = record.name.rsplit(".", 1)[-1]
        if kind not in QUIET:
            return True
        return not is_own_record(kind, record.getMessage())


_FILTER = _OwnObjectsFilter()


def own_names() -> frozenset:
    """Names of the Brian2 objects registered as brian_ep's own."""
    return frozenset(_NAMES)


def silence_own_warnings(objects) -> None:
    """Register ``objects`` (Brian2 objects, with their contained objects and pathways) as
    brian_ep's own and make sure the filter is installed on Brian2's console handler."""
    from brian2.utils.logger import BrianLogger

    for obj in objects:
        _NAMES.add(obj.name)
        for sub in list(getattr(obj, "contained_objects", ())) + list(getattr(obj, "_pathways", ())):
            _NAMES.add(sub.name)
    handler = getattr(BrianLogger, "console_handler", None)
    if handler is not None and _FILTER not in handler.filters:
        handler.addFilter(_FILTER)
