"""``python -m fastsim`` runs the command line."""

import sys

from fastsim.cli import main

sys.exit(main())
