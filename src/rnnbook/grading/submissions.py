"""Finding submitted notebooks, reading them safely, and putting back cells a learner deleted."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader import utils as nbutils


class BadSubmission(Exception):
    """The file cannot be graded; the message is the reason shown in the grade table."""


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path


def student_id_from(name: str) -> str:
    """A safe student id from a file or folder name (nbgrader ids become folder names)."""
    cleaned = re.sub(r"[^A-Za-z0-9_.@-]+", "_", name).strip("._")
    return cleaned or "unnamed"


def collect(folder: Path, assignment: str) -> list[Submission]:
    """Submissions in either layout, sorted by student:

    - flat: ``folder/<student>.ipynb`` (any notebook directly in the folder);
    - nbgrader: ``folder/[submitted/]<student>/<assignment>/*.ipynb``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"submissions folder {folder} does not exist")
    found: dict[str, Path] = {}
    for path in sorted(folder.glob("*.ipynb")):
        found[student_id_from(path.stem)] = path
    nested_root = folder / "submitted" if (folder / "submitted").is_dir() else folder
    for path in sorted(nested_root.glob(f"*/{assignment}/*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        student = student_id_from(path.parent.parent.name)
        if student in found and found[student] != path:
            raise BadSubmission(f"two submissions for student {student!r}: {found[student]} and {path}")
        found[student] = path
    return [Submission(s, p) for s, p in sorted(found.items())]


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read and validate a notebook, with a reason a person can act on when it is broken."""
    try:
        raw = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BadSubmission("the file is not UTF-8 text, so it is not a notebook") from None
    if not raw.strip():
        raise BadSubmission("the file is empty")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as err:
        raise BadSubmission(f"the file is not valid notebook JSON (line {err.lineno}, column {err.colno}: "
                            f"{err.msg}); was it saved completely?") from None
    if not isinstance(data, dict) or "cells" not in data:
        raise BadSubmission("the JSON is not a Jupyter notebook (it has no 'cells')")
    try:
        nb = nbformat.reads(raw, as_version=4)
    except Exception as err:  # nbformat raises several types for malformed content
        raise BadSubmission(f"the notebook cannot be read: {err}") from None
    for cell in nb.cells:  # outputs are recomputed anyway; broken ones must not block grading
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as err:
        raise BadSubmission(f"the notebook does not follow the notebook format: {err.message}") from None
    return nb


def _key(cell) -> str | None:
    if nbutils.is_grade(cell) or nbutils.is_solution(cell) or nbutils.is_locked(cell):
        return cell.metadata["nbgrader"].get("grade_id")
    return None


def restore_missing_cells(submitted: nbformat.NotebookNode, release: nbformat.NotebookNode) -> list[str]:
    """Put back every nbgrader cell (tests, answers, locked cells) the learner deleted.

    nbgrader restores *edited* test cells from the gradebook, but not deleted ones. Each missing
    cell is inserted after the nearest earlier release cell that is still present. Returns the
    grade ids restored.
    """
    present = {_key(c) for c in submitted.cells if _key(c)}
    restored = []
    for position, cell in enumerate(release.cells):
        key = _key(cell)
        if not key or key in present:
            continue
        anchor = None
        for earlier in reversed(release.cells[:position]):
            if _key(earlier) in present:
                anchor = _key(earlier)
                break
        index = 0
        if anchor is not None:
            index = next(i for i, c in enumerate(submitted.cells) if _key(c) == anchor) + 1
        submitted.cells.insert(index, nbformat.from_dict(json.loads(json.dumps(cell))))
        present.add(key)
        restored.append(key)
    return restored
