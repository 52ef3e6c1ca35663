"""``python -m mmgap ...``: the command line (also ``torchrun ... -m mmgap ...``)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
