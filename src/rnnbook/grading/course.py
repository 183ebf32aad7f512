"""Where the course's folders are and how nbgrader is configured for them (one place for both)."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

COURSE_ID = "rnn-to-attention"
# Defaults shared by the CLI and the library (seconds).
CELL_TIMEOUT = 120  # one cell, when graded
SUBMISSION_TIMEOUT = 1800  # one whole submission, when graded
CHECK_CELL_TIMEOUT = 300  # one cell in a learner's `course check` (untrimmed notebooks on slow laptops)


class CourseError(RuntimeError):
    """A problem the CLI reports in one line (the message says what to do)."""


class CourseLayoutError(CourseError):
    pass


def find_root(start: str | os.PathLike | None = None) -> Path:
    """The course repository: the nearest folder upwards holding ``_config.yml`` and ``autograder/``."""
    env = os.environ.get("RNNBOOK_COURSE_ROOT")
    here = Path(env or start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_config.yml").is_file() and (folder / "autograder").is_dir():
            return folder
    raise CourseLayoutError(
        f"no course repository above {here}: run this inside the course checkout "
        "(the folder with _config.yml and autograder/) or set RNNBOOK_COURSE_ROOT."
    )


def book_config(root: Path) -> dict:
    """``_config.yml`` as a dictionary (the single place the course's address and branch are written)."""
    import yaml  # installed with Jupyter Book; imported here so `course check` on Colab does not need it

    with open(root / "_config.yml", encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def _required(root: Path, section: str, key: str, needed_for: str) -> str:
    value = (book_config(root).get(section) or {}).get(key)
    if not value:
        raise CourseLayoutError(f"_config.yml has no {section}.{key}; {needed_for} need it")
    return str(value).rstrip("/")


def repository_url(root: Path) -> str:
    """``repository.url`` from ``_config.yml``."""
    return _required(root, "repository", "url", "the Colab links")


def repository_branch(root: Path) -> str:
    """``repository.branch`` from ``_config.yml`` (the branch the Colab links open)."""
    return str((book_config(root).get("repository") or {}).get("branch") or "main")


def book_url(root: Path) -> str:
    """Where the published book lives: ``html.baseurl`` in ``_config.yml``."""
    return _required(root, "html", "baseurl", "the assignments' links back to their chapters")


def release_tag(root: Path) -> str:
    """The git tag a release is published under: ``v`` + the package version in pyproject.toml. The
    Colab setup cells install exactly this tag, so a notebook runs with the code it was written for."""
    import tomllib

    with open(root / "pyproject.toml", "rb") as handle:
        return "v" + tomllib.load(handle)["project"]["version"]


# Which assignment goes with which chapter (chapter number -> assignment id). Chapters and assignments
# that do not exist yet are skipped, so a new pair only needs its line here.
CHAPTER_ASSIGNMENTS = {
    "01": "a1_preprocessing",
    "02": "a2_rnn_lm",
    "03": "a3_lstm_gru",
    "04": "a4_seq2seq",
    "05": "a5_attention",
    "06": "a6_decoding",
    "07": "a6_decoding",
}


@dataclass(frozen=True)
class Course:
    root: Path

    @property
    def solutions(self) -> Path:
        return self.root / "solutions"

    @property
    def exercises(self) -> Path:
        return self.root / "exercises"

    @property
    def autograder(self) -> Path:
        return self.root / "autograder"

    @property
    def book(self) -> Path:
        return self.root / "book"

    def assignments(self) -> list[str]:
        return sorted(p.name for p in self.solutions.iterdir() if (p / f"{p.name}.ipynb").is_file())

    def chapters(self) -> list[Path]:
        """The chapter notebooks, ``book/NN_name.ipynb``, in order."""
        return sorted(p for p in self.book.glob("[0-9][0-9]_*.ipynb"))

    def chapter_assignment(self, chapter: Path) -> str | None:
        """The assignment that goes with ``chapter``, if it exists yet."""
        assignment = CHAPTER_ASSIGNMENTS.get(chapter.name[:2])
        return assignment if assignment in self.assignments() else None

    def assignment_chapters(self, assignment: str) -> list[Path]:
        """The chapters that ``assignment`` practises (those that exist yet)."""
        return [c for c in self.chapters() if CHAPTER_ASSIGNMENTS.get(c.name[:2]) == assignment]

    def source_notebook(self, assignment: str) -> Path:
        path = self.solutions / assignment / f"{assignment}.ipynb"
        if not path.is_file():
            raise CourseLayoutError(
                f"no assignment {assignment!r}: expected {path}. Known: {', '.join(self.assignments())}"
            )
        return path


def configure(c, root: Path, workdir: Path, *, release_dir: Path | None = None,
              cell_timeout: int = CELL_TIMEOUT) -> None:
    """Fill an nbgrader traitlets Config: sources in solutions/, releases in exercises/ (or
    ``release_dir``), and everything that changes per grading run under ``workdir``."""
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.root = str(root / "autograder")
    c.CourseDirectory.source_directory = str(root / "solutions")
    c.CourseDirectory.release_directory = str(release_dir or root / "exercises")
    c.CourseDirectory.submitted_directory = str(workdir / "submitted")
    c.CourseDirectory.autograded_directory = str(workdir / "autograded")
    c.CourseDirectory.feedback_directory = str(workdir / "feedback")
    c.CourseDirectory.db_url = f"sqlite:///{workdir / 'gradebook.db'}"
    c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]
    c.Execute.timeout = cell_timeout
    c.Execute.startup_timeout = 120
    c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
    c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
    # Creating a gradebook runs `alembic`; it must be found next to this Python.
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
