"""Plausible wrong answers per assignment: ``tests/mutants/<assignment>.py`` defines
``MUTANTS = {name: (grade_id, replacement_source)}``; tests/test_grading.py grades every one."""
from __future__ import annotations

import json
from pathlib import Path

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"


def solution_sources(assignment: str) -> dict[str, str]:
    """grade_id -> source of every solution code cell of an assignment's source notebook."""
    nb = json.loads((SOLUTIONS / assignment / f"{assignment}.ipynb").read_text(encoding="utf-8"))
    found = {}
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and cell["cell_type"] == "code":
            src = cell["source"]
            found[meta["grade_id"]] = "".join(src) if isinstance(src, list) else src
    return found


def swapper(assignment: str):
    """``swap(grade_id, (old, new), ...)``: the solution cell with one mistake put in. A swap that no
    longer matches the solution exactly once raises, so mutants follow edits to the solution loudly."""
    sources = solution_sources(assignment)

    def swap(grade_id: str, *pairs: tuple[str, str]) -> tuple[str, str]:
        src = sources[grade_id]
        for old, new in pairs:
            if src.count(old) != 1:
                raise ValueError(f"mutant swap for {grade_id!r} does not match the solution once: {old!r}")
            src = src.replace(old, new)
        return grade_id, src

    return swap
