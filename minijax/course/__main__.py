"""`python -m minijax.course` (`--help` lists the commands)."""

import sys

from minijax.course.cli import main

if __name__ == "__main__":
    sys.exit(main())
