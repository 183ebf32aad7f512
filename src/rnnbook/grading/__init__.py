"""Release, self-check and autograding on top of nbgrader (see ``course --help``)."""
import sys as _sys

# jsonschema (under nbformat and nbgrader) registers an "iri" format check if rfc3987_syntax is
# installed, and importing that builds a parser: 0.9 s in every grading process. No notebook or
# nbgrader schema uses the "iri" format, so the check is left out (the import then fails quietly).
if "jsonschema" not in _sys.modules:
    _sys.modules.setdefault("rfc3987_syntax", None)
