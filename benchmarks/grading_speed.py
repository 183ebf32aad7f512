"""Seconds per submission for `course grade`: grades N copies of an assignment's solution.

    python benchmarks/grading_speed.py a1_preprocessing --copies 4 --jobs 2
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    source = ROOT / "solutions" / args.assignment / f"{args.assignment}.ipynb"
    with tempfile.TemporaryDirectory() as tmp:
        subs = Path(tmp) / "subs"
        subs.mkdir()
        for i in range(args.copies):
            shutil.copy(source, subs / f"student{i:03d}.ipynb")
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rnnbook.grading.cli", "grade", args.assignment, str(subs),
                        "--workdir", str(Path(tmp) / "work"), "--jobs", str(args.jobs)],
                       cwd=ROOT, check=True, capture_output=True)
        elapsed = time.perf_counter() - start
    print(f"{args.assignment}: {args.copies} submissions, {args.jobs} at a time: {elapsed:.1f} s in all, "
          f"{elapsed / args.copies:.1f} s per submission (wall), {elapsed * args.jobs / args.copies:.1f} s per "
          f"submission per worker")


if __name__ == "__main__":
    main()
