"""`python -m minijax`: the command line of `minijax.cli` (`--help` lists the commands)."""

import sys

from minijax.cli import main

if __name__ == "__main__":
    sys.exit(main())
