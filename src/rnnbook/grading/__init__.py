"""Release, self-check and autograding on top of nbgrader (see ``course --help``)."""
