"""`python -m handprop`: the command line, as the `handprop` command runs it."""

import sys

from .cli import main

sys.exit(main())
