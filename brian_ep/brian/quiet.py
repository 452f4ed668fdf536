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

:func:`silence_own_warnings` adds one filter to Brian2's console handler that drops these two
warnings when they name an object registered here; warnings about the user's own objects, and
every other warning, are shown as before. ``import brian_ep`` installs nothing: the filter is
added when the first network is built.
"""

from __future__ import annotations

import logging
import re

__all__ = ["silence_own_warnings", "own_names"]

#: Brian2 log names (their last component) that are false alarms for EP objects
QUIET = ("resolution_conflict", "synapses_dt_mismatch", "unused_brian_object")

_NAMES: set = set()
_QUOTED = re.compile(r"""['"]([A-Za-z_][A-Za-z0-9_]*)['"]""")


class _OwnObjectsFilter(logging.Filter):
    """Drops :data:`QUIET` records that name a registered EP object."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.rsplit(".", 1)[-1] not in QUIET:
            return True
        return not any(name in _NAMES for name in _QUOTED.findall(record.getMessage()))


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
