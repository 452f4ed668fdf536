#!/usr/bin/env bash
# The documentation site and the type checker, as CI runs them (standalone; .ci/run calls it):
#  1. installs what the extras `docs` and `typecheck` of pyproject.toml list, where missing
#     (only those packages: brian_ep itself is not reinstalled);
#  2. builds docs/ with Sphinx, warnings as errors (a broken reference or a docstring that
#     numpydoc cannot parse fails the build), into docs/_build/html;
#  3. runs mypy on the public modules that [tool.mypy] in pyproject.toml lists.
# Run from anywhere: `bash .ci/docs.sh`. About 1 minute on 2 idle cores.
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-python}"
echo "== docs: $("$PY" --version)"

# the requirements of the two extras, read from pyproject.toml: those not installed, or
# installed below their lower bound
missing=$("$PY" - <<'PYCODE'
import importlib.metadata as md
import tomllib

from packaging.requirements import Requirement

with open("pyproject.toml", "rb") as f:
    extras = tomllib.load(f)["project"]["optional-dependencies"]
for text in extras["docs"] + extras["typecheck"]:
    requirement = Requirement(text)
    try:
        if md.version(requirement.name) in requirement.specifier:
            continue
    except md.PackageNotFoundError:
        pass
    print(text)
PYCODE
)
if [ -n "$missing" ]; then
    echo "== installing: $(echo "$missing" | tr '\n' ' ')"
    # shellcheck disable=SC2086
    "$PY" -m pip install -q $missing
else
    echo "== the docs and typecheck extras are installed"
fi

echo "== sphinx: $PY -m sphinx -E -W --keep-going -b html docs docs/_build/html"
start=$(date +%s)
"$PY" -m sphinx -E -W --keep-going -q -b html docs docs/_build/html
echo "== sphinx passed in $(( $(date +%s) - start )) s (docs/_build/html/index.html)"

echo "== mypy: $PY -m mypy (files and settings: [tool.mypy] in pyproject.toml)"
start=$(date +%s)
"$PY" -m mypy
echo "== mypy passed in $(( $(date +%s) - start )) s"
