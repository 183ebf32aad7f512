"""Finding submitted notebooks, reading them safely, and repairing nbgrader metadata a learner damaged."""
from __future__ import annotations

import copy
import difflib
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .cells import nbgrader_meta

from .course import CourseError


class BadSubmission(CourseError):
    """The file cannot be graded; the message is the reason shown in the grade table."""


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path
    problem: str | None = None  # set: not graded, a zero row with this reason
    notes: tuple[str, ...] = ()


def student_id_from(name: str) -> str:
    """A safe student id from a file or folder name (ids become folder names). Names that had to be
    changed to be safe get a short hash of the original, so "José" and "Jose", or two names that
    differ only in characters outside ASCII (or only in Unicode normalisation), stay two students."""
    cleaned = re.sub(r"[^A-Za-z0-9_.@-]+", "_", name).strip("._")
    if cleaned == name:
        return cleaned
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return f"{cleaned or 'student'}-{digest}"


def _symlink_in(path: Path, folder: Path) -> bool:
    return any(p.is_symlink() for p in (path, *path.parents) if p != folder and folder in p.parents)


def collect(folder: Path, assignment: str) -> list[Submission]:
    """Submissions in either layout, sorted by student:

    - flat: ``folder/<student>.ipynb`` (any notebook directly in the folder);
    - nbgrader: ``folder/[submitted/]<student>/<assignment>/*.ipynb``.

    Symlinks are refused (they could point at anything the grader can read). Two notebooks in one
    student's folder: the one named ``<assignment>.ipynb`` is graded, with a note; else refused.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"submissions folder {folder} does not exist")
    found: dict[str, Submission] = {}

    def add(student: str, sub: Submission) -> None:
        if student in found and found[student].path != sub.path:
            sub = Submission(student, sub.path, f"two submissions for this student: {found[student].path.name} "
                                                f"and {sub.path}; keep one and grade again")
        found[student] = sub

    for path in sorted(folder.glob("*.ipynb")):
        student = student_id_from(path.stem)
        add(student, Submission(student, path, "the submission is a symbolic link; submit the file itself"
                                if path.is_symlink() else None))
    nested_root = folder / "submitted" if (folder / "submitted").is_dir() else folder
    for student_dir in sorted(p.parent for p in nested_root.glob(f"*/{assignment}")):
        student = student_id_from(student_dir.name)
        notebooks = sorted(p for p in (student_dir / assignment).glob("*.ipynb"))
        if not notebooks:
            continue
        if _symlink_in(student_dir / assignment, folder) or any(p.is_symlink() for p in notebooks):
            add(student, Submission(student, notebooks[0], "the submission is a symbolic link; submit the file itself"))
        elif len(notebooks) == 1:
            add(student, Submission(student, notebooks[0]))
        elif (student_dir / assignment / f"{assignment}.ipynb") in notebooks:
            others = ", ".join(p.name for p in notebooks if p.name != f"{assignment}.ipynb")
            add(student, Submission(student, student_dir / assignment / f"{assignment}.ipynb",
                                    notes=(f"graded {assignment}.ipynb; ignored {others}",)))
        else:
            add(student, Submission(student, notebooks[0], "several notebooks and none named "
                                    f"{assignment}.ipynb ({', '.join(p.name for p in notebooks)}): rename the one to grade"))
    return [found[s] for s in sorted(found)]


def read_notebook(path: Path) -> tuple[nbformat.NotebookNode, list[str]]:
    """Read and validate a notebook, with a reason a person can act on when it is broken; returns it
    and notes on what was repaired."""
    notes = []
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
    if not isinstance(data, dict) or not ("cells" in data or "worksheets" in data):  # format 4, or 3
        raise BadSubmission("the JSON is not a Jupyter notebook (it has no 'cells')")
    if data.get("nbformat", 4) < 4:
        notes.append(f"upgraded from notebook format {data.get('nbformat')}")
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
    return nb, notes


def _key(cell) -> str | None:
    return nbgrader_meta(cell).get("grade_id") if nbgrader_meta(cell) else None


def _same_text(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def repair(submitted: nbformat.NotebookNode, release: nbformat.NotebookNode) -> list[str]:
    """Undo innocent damage to nbgrader's cell metadata, matching cells to the release by position
    and content; returns one note per repair (shown in the grade table).

    - a duplicated graded cell (copy-paste): the last copy keeps the metadata (it is the one that
      defines what runs last), the others become ordinary cells;
    - a grade id the release does not know (renamed) or a cell whose nbgrader metadata was stripped:
      matched to the release cell missing at that position, by content;
    - flipped flags or points: reset to the release's;
    - a deleted cell: restored at its own position.
    """
    notes: list[str] = []
    known = {_key(c): c for c in release.cells if _key(c)}
    # 1. duplicates and unknown ids become ordinary cells (candidates for step 2)
    last_index = {}
    for index, cell in enumerate(submitted.cells):
        if _key(cell):
            last_index[_key(cell)] = index
    for index, cell in enumerate(submitted.cells):
        key = _key(cell)
        if key and (key not in known or last_index[key] != index):
            del cell.metadata["nbgrader"]
            notes.append(f"duplicate of cell {key} kept as an ordinary cell" if key in known
                         else f"unknown cell id {key!r} cleared")
        elif "nbgrader" in cell.metadata and not key:
            del cell.metadata["nbgrader"]
    # 2. release cells now missing: find them by position (between their neighbours) and content
    for position, cell in enumerate(release.cells):
        key = _key(cell)
        if not key or any(_key(c) == key for c in submitted.cells):
            continue
        before = [_key(c) for c in release.cells[:position] if _key(c)]
        after = [_key(c) for c in release.cells[position + 1:] if _key(c)]
        where = {_key(c): i for i, c in enumerate(submitted.cells) if _key(c)}
        low = max((where[k] for k in before if k in where), default=-1)
        high = min((where[k] for k in after if k in where and where[k] > low), default=len(submitted.cells))
        candidates = [i for i in range(low + 1, high) if not _key(submitted.cells[i])
                      and submitted.cells[i].cell_type == cell.cell_type]
        scored = sorted(((_same_text(submitted.cells[i].source, cell.source), i) for i in candidates), reverse=True)
        if scored and scored[0][0] >= 0.3:  # a solution keeps its signature and docstring
            submitted.cells[scored[0][1]].metadata["nbgrader"] = copy.deepcopy(cell.metadata["nbgrader"])
            notes.append(f"repaired the metadata of cell {key} (matched by position and content)")
        else:
            submitted.cells.insert(low + 1, nbformat.from_dict(json.loads(json.dumps(cell))))
            notes.append(f"restored deleted cell {key}")
    # 3. flags and points as released
    for index, cell in enumerate(submitted.cells):
        key = _key(cell)
        if not key:
            continue
        if cell.cell_type != known[key].cell_type:
            notes.append(f"cell {key} was changed to {cell.cell_type}; the released cell is graded instead")
            submitted.cells[index] = nbformat.from_dict(json.loads(json.dumps(known[key])))
        elif _flags(cell) != _flags(known[key]):
            notes.append(f"reset the nbgrader flags of cell {key}")
        submitted.cells[index].metadata["nbgrader"] = copy.deepcopy(known[key].metadata["nbgrader"])
    return notes


def _flags(cell) -> tuple:
    meta = nbgrader_meta(cell)
    return tuple(meta.get(k) for k in ("grade", "solution", "locked", "points", "task"))
