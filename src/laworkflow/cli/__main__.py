"""`python -m laworkflow.cli`: the same commands as the `laworkflow` console script."""

import sys

from laworkflow.cli import app

sys.exit(app())
