"""Sphinx configuration of the brian_ep documentation site.

Build (from the repository root; ``pip install ".[docs]"`` first)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The Markdown guides (``docs/*.md``) are read as they are through MyST-Parser; the API
reference (``docs/api/*.rst``) is rendered by autodoc from the numpydoc docstrings.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# document the package of this checkout, not whatever copy is installed
sys.path.insert(0, str(ROOT))
# importing brian_ep must not touch the user's cache or start anything: nothing to set here,
# but keep the build headless for matplotlib, which some modules import
os.environ.setdefault("MPLBACKEND", "Agg")

import brian_ep  # noqa: E402

project = "brian_ep"
author = "brian_ep developers"
copyright = "2026, brian_ep developers"
release = version = brian_ep.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
# the run directories of the comparisons hold no pages; the result tables without a title of
# their own are included by tables.md rather than built as pages
exclude_patterns = [
    "_build",
    "**/runs/**",
    "results/**/*.md",
]

# -- MyST: the Markdown guides as they are ---------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# -- autodoc / numpydoc ----------------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autosummary_generate = False
# the names that stand for types which a module cannot import without an import cycle
# (typed ``Any`` there): shown and linked as the classes they stand for
autodoc_type_aliases = {
    "Array": "brian_ep.neurons.base.Array",
    "Layer": "brian_ep.Layer",
    "Architecture": "brian_ep.Architecture",
    "EPSpec": "brian_ep.spec.EPSpec",
}
# (not ``Spec``: the real class is annotated as ``Spec`` in unions, which an alias would break)
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
# the ``Attributes`` of a class become targets (``:attr:`NeuronModel.brian_rate```)
numpydoc_attributes_as_param_list = False

# -- nitpicky: every cross-reference must resolve ---------------------------------------------
# A broken reference in a docstring or guide fails the build (-W). The build runs offline, so
# there is no intersphinx: the few third-party and standard-library types that appear in
# rendered signatures are listed here instead (each is named, none is a pattern).
nitpicky = True
_STDLIB = ["pathlib.Path", "os.PathLike", "types.MappingProxyType", "collections.abc.Callable",
           "collections.abc.Iterable", "collections.abc.Mapping", "collections.abc.Sequence"]
_NUMPY = ["numpy.ndarray", "np.ndarray", "numpy.random._generator.Generator"]
# Brian2's classes, as resolved by autodoc and as written in the annotations of the
# EPNetwork dataclass (Brian2 publishes a Sphinx site but no offline inventory)
_BRIAN2 = ["brian2.groups.neurongroup.NeuronGroup", "brian2.units.fundamentalunits.Quantity",
           "NeuronGroup", "Synapses", "StateMonitor", "Quantity", "Clock"]
nitpick_ignore = [("py:class", name) for name in _STDLIB + _NUMPY + _BRIAN2]


def _clean_signature(app, what, name, obj, options, signature, return_annotation):
    """Two generated signatures that cannot be shown as they are:

    * the spec models are built by ``load_spec`` from YAML, never called by users, and their
      generated constructor signatures list pydantic's validator internals
      (``annotated_types.Gt``, ``BeforeValidator``...): show the class without it; the
      docstring lists the keys;
    * a dataclass field with a ``default_factory`` shows its default as ``<factory>``, which
      Sphinx cannot parse (it then splits the signature at every comma): show ``...``.
    """
    from pydantic import BaseModel

    if what == "class" and isinstance(obj, type) and issubclass(obj, BaseModel):
        return "", None
    if signature and "<factory>" in signature:
        return signature.replace("<factory>", "..."), return_annotation
    return None


def _list_spec_keys(app, what, name, obj, options, lines):
    """Append the keys of a spec model with their defaults, read from the model itself, so
    that the reference cannot drift from what ``load_spec`` accepts."""
    from pydantic import BaseModel

    if what != "class" or not (isinstance(obj, type) and issubclass(obj, BaseModel)) or not obj.model_fields:
        return
    lines += ["", ".. rubric:: Keys and defaults", ""]
    for key, field in obj.model_fields.items():
        if field.is_required():
            default = "required"
        elif field.default_factory is not None:
            default = "default: computed"
        else:
            default = f"default: ``{field.default!r}``"
        lines.append(f"* ``{key}`` ({default})")
    lines.append("")


def setup(app):
    app.connect("autodoc-process-signature", _clean_signature)
    app.connect("autodoc-process-docstring", _list_spec_keys)

html_theme = "alabaster"
html_title = f"brian_ep {release}"
