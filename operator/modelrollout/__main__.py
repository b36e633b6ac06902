"""`python -m modelrollout` runs the operator."""

import sys

from .controller.main import main

sys.exit(main())
