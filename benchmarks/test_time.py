"""Time of each part of `make test`: runs the suite once (or the tests you name) with a JUnit report
and prints the seconds spent per part, slowest first, and what `make test-fast` would take.

    python benchmarks/test_time.py                 # the whole suite, as `make test` runs it
    python benchmarks/test_time.py -m "not slow"   # only what `make test-fast` runs
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def part_of(classname: str, name: str, slow: bool) -> str:
    module = classname.rsplit(".", 1)[-1] if classname.startswith("tests.") else classname.split(".")[0]
    if module == "test_grading":
        return "grading end to end (course grade)" if slow else "mutants and alternatives (runner)"
    if module == "test_book":
        return "book build"
    return f"{module}{' (slow)' if slow else ''}"


def slow_tests(args: list[str]) -> set[str]:
    """Node names (file::test[param]) of the tests marked slow (among the paths in ``args``)."""
    paths = [a for i, a in enumerate(args) if not a.startswith("-") and (i == 0 or args[i - 1] not in ("-m", "-k"))]
    listed = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "slow", *paths],
                            cwd=ROOT, capture_output=True, text=True).stdout
    return {line.split("/")[-1].replace(".py::", "::") for line in listed.splitlines() if "::" in line}


def main(args: list[str]) -> int:
    slow = slow_tests(args)
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.xml"
        start = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", f"--junitxml={report}", *args], cwd=ROOT)
        wall = time.perf_counter() - start
        cases = ET.parse(report).getroot().iter("testcase")
        parts: dict[str, float] = defaultdict(float)
        counts: dict[str, int] = defaultdict(int)
        for case in cases:
            classname, name = case.get("classname", ""), case.get("name", "")
            module = classname.rsplit(".", 1)[-1]
            part = part_of(classname, name, f"{module}::{name}" in slow)
            parts[part] += float(case.get("time", 0))
            counts[part] += 1
    print(f"\n{'part':45s} {'tests':>6s} {'seconds':>9s}")
    for part, seconds in sorted(parts.items(), key=lambda kv: -kv[1]):
        print(f"{part:45s} {counts[part]:6d} {seconds:9.1f}")
    fast = sum(s for p, s in parts.items() if "(slow)" not in p and p not in
               ("grading end to end (course grade)", "book build"))
    print(f"{'make test-fast (the parts not marked slow)':45s} {'':6s} {fast:9.1f}")
    print(f"{'wall time of this run (collection included)':45s} {'':6s} {wall:9.1f}")
    return run.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
