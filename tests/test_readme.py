"""The README's results (issue 27, criterion 3): every row of its results table names a
committed file (a ``docs/...`` path) that exists, whatever the rows' order."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_PATH = re.compile(r"`(docs/[^`\s]+)`")


def result_rows(text: str) -> list:
    """The body rows of the first table under the heading that starts with '## Results'."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("## Results"))
    rows, in_table = [], False
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            in_table = True
            rows.append(line)
        elif in_table or line.startswith("## "):
            break
    return [r for r in rows[2:] if r.strip()]  # drop the header and the |---| line


def test_result_rows_are_found():
    rows = result_rows((REPO / "README.md").read_text())
    assert len(rows) >= 10
    assert any("gradient check" in r for r in rows)


def test_every_result_row_names_a_file_that_exists():
    missing = []
    for row in result_rows((REPO / "README.md").read_text()):
        paths = _PATH.findall(row)
        if not paths:
            missing.append(f"no docs/ file named: {row[:80]}")
        missing += [f"{p} does not exist ({row[:60]})" for p in paths if not (REPO / p).exists()]
    assert missing == []


def test_the_table_parser_notices_a_row_without_a_file():
    text = "## Results (x)\n\n| what | result |\n|---|---|\n| a | 1% (`docs/results.md`) |\n| b | 2% |\n\n## Next\n"
    rows = result_rows(text)
    assert len(rows) == 2 and [bool(_PATH.findall(r)) for r in rows] == [True, False]
