"""What the notebooks' tests import: teaching assertions that say what is wrong (``checks``), the
``forbid`` guard against calling a library shortcut, and the tamper guard used by hidden tests."""
