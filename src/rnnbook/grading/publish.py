"""``course publish DIR``: the student edition of the course, ready for GitHub Pages.

It holds the built book (``_build/html``), the released assignments (``exercises/``), the course package
and a data manifest, and never ``solutions/``, hidden tests, the gradebook or the instructor's
nbgrader configuration. :func:`leaks` is the check that nothing of the sources' solutions or hidden tests
got in (``publish`` runs it and refuses to finish otherwise).
"""
from __future__ import annotations

import dataclasses
import html
import json
import re
import shutil
from pathlib import Path

import nbformat

from .course import Course

# Copied from the repository root as they are (files or folders).
PUBLIC = ["exercises", "src", "README.md", "requirements.txt", "pyproject.toml", "LICENSE", "LICENSE-TEXT",
          "CITATION.cff"]
NEVER = ["solutions", "autograder", "tests", "gradebook.db", "nbgrader_config.py", ".ci", ".jupyter_cache"]
TEXT_SUFFIXES = {".html", ".ipynb", ".py", ".js", ".json", ".txt", ".md", ".csv", ".cff", ".toml", ".xml", ".svg"}
_BLOCK = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.S)


class PublishError(RuntimeError):
    pass


def publish(course: Course, dest: Path, built: Path | None = None) -> Path:
    """Write the student edition into ``dest`` (emptied first): the site at the top (``index.html``),
    the rest under ``course/``. ``built`` is the built book (default ``_build/html``)."""
    root = course.root
    built = Path(built or root / "_build" / "html")
    if not (built / "index.html").is_file():
        raise PublishError(f"no built book in {built}: run `make book` (jupyter-book build .) first")
    dest = Path(dest)
    if dest.resolve() in (root.resolve(), *root.resolve().parents):
        raise PublishError(f"{dest} is the repository or above it; publish into an empty folder")
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(built, dest, ignore=shutil.ignore_patterns(".buildinfo", ".doctrees"))
    edition = dest / "course"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".ipynb_checkpoints", *NEVER)
    for name in PUBLIC:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, edition / name, ignore=ignore)
        elif source.is_file():
            shutil.copy2(source, edition / name)
    (edition / "data-manifest.json").write_text(json.dumps(_data_manifest(), indent=1) + "\n")
    (dest / ".nojekyll").write_text("")  # GitHub Pages: serve _static/ and _sources/ as they are
    found = leaks(course, dest)
    if found:
        raise PublishError("the student edition would contain solutions or hidden tests:\n  "
                           + "\n  ".join(found[:20]))
    return dest


def _data_manifest() -> dict:
    from ..data.datasets import REGISTRY

    return {key: dataclasses.asdict(ds) for key, ds in sorted(REGISTRY.items())}


def secrets(course: Course) -> list[str]:
    """Text that must never be published: every solution cell of the sources as a whole, and each line of
    a solution or hidden-test block that the released exercises, the chapters and the package do not
    already show (a line is matched as a whole line of a published file, a cell as a substring)."""
    public = set()
    for path in [*course.exercises.rglob("*.ipynb"), *course.book.glob("*.ipynb"),
                 *(course.root / "src").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".ipynb":
            text = "\n".join(c.source for c in nbformat.reads(text, as_version=4).cells)
        public.update(line.strip() for line in text.splitlines())
    found = []
    for assignment in course.assignments():
        nb = nbformat.read(course.source_notebook(assignment), as_version=4)
        for cell in nb.cells:
            if not _BLOCK.search(cell.source):
                continue
            if "### BEGIN SOLUTION" in cell.source:
                found.append(cell.source)
            for _, block in _BLOCK.findall(cell.source):
                found += [line.strip() for line in block.splitlines()
                          if len(line.strip()) >= 20 and line.strip() not in public]
    return found


def leaks(course: Course, folder: Path) -> list[str]:
    """Where ``folder`` contains a forbidden path or a piece of :func:`secrets` (empty: nothing leaks)."""
    found = [f"{p.relative_to(folder)}: must not be published" for p in folder.rglob("*")
             if p.name in NEVER]
    pieces = set(secrets(course))
    for path in folder.rglob("*"):
        if not (path.is_file() and path.suffix in TEXT_SUFFIXES):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".ipynb":  # compare cell sources, not their JSON encoding
            try:
                text += "\n".join(c.source for c in nbformat.reads(text, as_version=4).cells)
            except Exception:  # not a notebook after all: the raw text is still searched
                pass
        elif path.suffix == ".html":  # code in pages is split into highlighted spans: read it as text
            text += "\n" + html.unescape(re.sub(r"<[^>]+>", "", text))
        lines = {line.strip() for line in text.splitlines()}
        found += [f"{path.relative_to(folder)}: contains {piece[:70]!r}" for piece in sorted(pieces)
                  if (piece in lines if "\n" not in piece else piece in text)]
    return found
