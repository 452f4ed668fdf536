"""``brian-ep compare``: EP against its baselines on the same task, in one command.

:func:`compare_methods` trains each method (:mod:`.methods`) in its own process into an
ordinary run directory (:mod:`.runner`), or reads the runs already finished, and writes a
Markdown/CSV report with figures (:mod:`.report`, :mod:`.figures`).
"""

from .methods import DEFAULT_METHODS, METHODS, Method, Unavailable, method_spec, parse_methods
from .report import summarise, write_report
from .run import compare_methods, default_out

__all__ = ["compare_methods", "default_out", "METHODS", "DEFAULT_METHODS", "Method", "Unavailable", "method_spec", "parse_methods",
           "summarise", "write_report"]
