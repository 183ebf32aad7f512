"""What a notebook cell is to the grader (answer, test) and why a test failed; no nbgrader import,
so the learner's `course check` runs on Colab without the grading extras."""
from __future__ import annotations

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"


def nbgrader_meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def is_grade(cell) -> bool:
    return bool(nbgrader_meta(cell).get("grade", False))


def is_solution(cell) -> bool:
    return bool(nbgrader_meta(cell).get("solution", False))


def is_test(cell) -> bool:
    """An autograded test cell: graded, not an answer, code."""
    return is_grade(cell) and not is_solution(cell) and cell.get("cell_type") == "code"


def test_passed(cell) -> bool:
    """nbgrader's rule for test cells: any error, or anything on stderr, fails the cell."""
    return not any(o.get("output_type") == "error" or (o.get("output_type") == "stream" and o.get("name") == "stderr")
                   for o in cell.get("outputs", []))


def first_line_of_error(cell) -> str | None:
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            message = f"{output.ename}: {output.evalue}".strip().rstrip(":")
            return message.splitlines()[0][:300] if message else output.ename
        if output.output_type == "stream" and output.name == "stderr":
            return "wrote to stderr"
    return None
