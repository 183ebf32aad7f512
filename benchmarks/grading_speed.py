"""`course grade --jobs N` (sandboxed) against plain sequential `nbgrader autograde`, same submissions.

    python benchmarks/grading_speed.py a1_preprocessing --copies 12 --jobs 2

Prints both wall times, seconds per submission, the ratio, and whether the scores agree.
The submissions are copies of the solution and of the untouched exercise, alternating.
"""
from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Plain nbgrader, one process, students one after another (what an instructor runs without us).
PLAIN = """
import json, sys
from pathlib import Path
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config
from rnnbook.grading.course import COURSE_ID, configure
root, work, assignment, students = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4:]
c = Config()
configure(c, root, work, release_dir=work / "release")
api = NbGraderAPI(coursedir=CourseDirectory(config=c), config=c)
for student in students:
    assert api.autograde(assignment, student, force=True, create=True)["success"], student
with Gradebook(f"sqlite:///{work / 'gradebook.db'}", COURSE_ID) as gb:
    print(json.dumps({s: gb.find_submission(assignment, s).score for s in students}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    parser.add_argument("--copies", type=int, default=12)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from rnnbook.grading import release
    from rnnbook.grading.course import Course

    course = Course(ROOT)
    sources = [course.source_notebook(args.assignment), course.exercises / args.assignment / f"{args.assignment}.ipynb"]
    students = [f"student{i:03d}" for i in range(args.copies)]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subs, plain = tmp / "subs", tmp / "plain"
        subs.mkdir()
        release.generate(course, args.assignment, plain / "release", plain)
        for i, student in enumerate(students):
            shutil.copy(sources[i % 2], subs / f"{student}.ipynb")
            target = plain / "submitted" / student / args.assignment
            target.mkdir(parents=True)
            shutil.copy(sources[i % 2], target / f"{args.assignment}.ipynb")
        env_cmd = [sys.executable, "-c", PLAIN, str(ROOT), str(plain), args.assignment, *students]
        start = time.perf_counter()
        out = subprocess.run(env_cmd, cwd=ROOT, check=True, capture_output=True, text=True,
                             env={**__import__("os").environ, "PYTHONPATH": str(ROOT / "src")})
        plain_s = time.perf_counter() - start
        plain_scores = json.loads(out.stdout.strip().splitlines()[-1])

        start = time.perf_counter()
        graded = subprocess.run([sys.executable, "-m", "rnnbook.grading.cli", "grade", args.assignment, str(subs),
                                 "--workdir", str(tmp / "work"), "--jobs", str(args.jobs)],
                                cwd=ROOT, capture_output=True, text=True,
                                env={**__import__("os").environ, "PYTHONPATH": str(ROOT / "src")})
        ours_s = time.perf_counter() - start
        if graded.returncode != 0:
            sys.exit(graded.stdout + graded.stderr)
        sandboxed = "NOT isolated" not in graded.stdout
        with open(tmp / "work" / f"grades_{args.assignment}.csv", newline="") as fh:
            ours_scores = {row["student"]: float(row["total"]) for row in csv.DictReader(fh)}
    same = all(abs(ours_scores[s] - plain_scores[s]) < 1e-9 for s in students)
    print(f"{args.assignment}, {args.copies} submissions")
    print(f"  plain nbgrader autograde, sequential: {plain_s:6.1f} s ({plain_s / args.copies:.1f} s each)")
    print(f"  course grade --jobs {args.jobs} ({'sandboxed' if sandboxed else 'NOT sandboxed'}): "
          f"{ours_s:6.1f} s ({ours_s / args.copies:.1f} s each)")
    print(f"  ratio (plain / ours): {plain_s / ours_s:.2f}x; scores identical: {same}")


if __name__ == "__main__":
    main()
