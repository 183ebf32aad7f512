# nbgrader configuration for the course; the course's own commands (`course ...`) use the same
# settings from rnnbook.grading.course.configure. Grading state lives outside the repository, in
# $RNNBOOK_GRADING_DIR (default ~/rnnbook-grading).
import os
from pathlib import Path

from rnnbook.grading import course

c = get_config()  # noqa: F821  (provided by nbgrader)
_root = Path(__file__).resolve().parent.parent
course.configure(c, _root, Path(os.environ.get("RNNBOOK_GRADING_DIR", Path.home() / "rnnbook-grading")))
