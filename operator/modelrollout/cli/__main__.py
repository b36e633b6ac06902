"""`python -m modelrollout.cli` is `kubectl-modelrollout`."""

import sys

from .main import main

sys.exit(main())
