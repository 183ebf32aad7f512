"""``course``: release exercises, self-check a notebook, grade submissions.

    course release [--check] [ASSIGNMENT ...]
    course check NOTEBOOK
    course grade ASSIGNMENT SUBMISSIONS [--workdir DIR] [--jobs N] [--require-sandbox]
    course export {gradescope,canvas} ASSIGNMENT -o DIR
    course publish DIR [--html BUILT_BOOK]
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from .course import CELL_TIMEOUT, CHECK_CELL_TIMEOUT, SUBMISSION_TIMEOUT, Course, CourseError, find_root


def _cmd_release(args) -> int:
    from .release import release

    course = Course(find_root())
    problems = release(course, args.assignments or None, check=args.check)
    if args.check:
        if problems:
            print("exercises/ is out of sync with solutions/:\n  " + "\n  ".join(problems)
                  + "\nRun `course release` and commit the result.")
            return 1
        print("exercises/ and generated header cells are in sync with solutions/.")
    else:
        print(f"released {', '.join(args.assignments or course.assignments())} into {course.exercises}")
    return 0


def _cmd_check(args) -> int:
    from .selfcheck import report, run_checks

    path = Path(args.notebook)
    if not path.is_file():
        print(f"no notebook at {path}", file=sys.stderr)
        return 2
    print(f"Running {path} (training is shrunk, as when graded)...")
    text, ok = report(*run_checks(path, args.cell_timeout))
    print(text)
    return 0 if ok else 1


def _cmd_grade(args) -> int:
    from .grade import format_table, grade

    course = Course(find_root())
    start = time.perf_counter()

    def stop(signum, frame):  # SIGTERM ends the batch like Ctrl-C: the table so far is written
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        csv_path, rows = grade(course, args.assignment, Path(args.submissions), Path(args.workdir),
                               cell_timeout=args.cell_timeout, submission_timeout=args.submission_timeout,
                               jobs=args.jobs, require_sandbox=args.require_sandbox,
                               log=lambda line: print(line, flush=True))
    except KeyboardInterrupt:
        return 130
    print()
    print(format_table(rows))
    print(f"\n{len(rows) - 1} students; grades: {csv_path}; feedback: {Path(args.workdir).resolve() / 'feedback'}"
          f"; {time.perf_counter() - start:.1f} s")
    return 0


def _cmd_export(args) -> int:
    from .export import canvas_csv, gradescope_zip

    if args.format == "gradescope":
        path = gradescope_zip(Course(find_root()), args.assignment, Path(args.output))
    else:
        path = canvas_csv(args.assignment, Path(args.workdir), Path(args.output))
    print(f"wrote {path}")
    return 0


def _cmd_publish(args) -> int:
    from .publish import PublishError, publish

    try:
        dest = publish(Course(find_root()), Path(args.dir), Path(args.html) if args.html else None)
    except PublishError as err:
        print(f"course: {err}", file=sys.stderr)
        return 1
    print(f"student edition in {dest} (site at the top, exercises and package under course/)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="course", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="regenerate exercises/ from solutions/ (maintainers)")
    p.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    p.add_argument("--check", action="store_true", help="only check that exercises/ is up to date")
    p.set_defaults(func=_cmd_release)

    p = sub.add_parser("check", help="run a notebook's visible tests and show your score (learners)")
    p.add_argument("notebook")
    p.add_argument("--cell-timeout", type=int, default=CHECK_CELL_TIMEOUT, help="seconds one cell may run")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("grade", help="autograde submissions: CSV, feedback, summary (instructors)")
    p.add_argument("assignment", help="assignment id, e.g. a1_preprocessing")
    p.add_argument("submissions", help="folder of <student>.ipynb files or nbgrader's submitted/<student>/<assignment>/")
    p.add_argument("--workdir", default=os.environ.get("RNNBOOK_GRADING_DIR", str(Path.home() / "rnnbook-grading")),
                   help="where the gradebook, feedback and CSV go (keep it outside the repository)")
    p.add_argument("--cell-timeout", type=int, default=CELL_TIMEOUT, help="seconds one cell may run")
    p.add_argument("--submission-timeout", type=int, default=SUBMISSION_TIMEOUT, help="seconds one submission may take in all")
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="submissions graded at once")
    p.add_argument("--require-sandbox", action="store_true",
                   help="refuse to grade if kernels cannot run in the bubblewrap sandbox")
    p.set_defaults(func=_cmd_grade)

    p = sub.add_parser("export", help="Gradescope autograder zip, or a Canvas CSV of a graded assignment")
    p.add_argument("format", choices=["gradescope", "canvas"])
    p.add_argument("assignment")
    p.add_argument("-o", "--output", required=True, help="folder to write into")
    p.add_argument("--workdir", default=os.environ.get("RNNBOOK_GRADING_DIR", str(Path.home() / "rnnbook-grading")),
                   help="canvas: the --workdir `course grade` wrote its table into")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("publish", help="write the student edition: built book, exercises, package (maintainers)")
    p.add_argument("dir", help="output folder (emptied first)")
    p.add_argument("--html", help="the built book (default: _build/html)")
    p.set_defaults(func=_cmd_publish)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError, CourseError) as err:
        print(f"course: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
