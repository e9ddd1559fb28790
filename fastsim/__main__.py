"""``python -m fastsim`` runs the command line."""

import sys

from fastsim.cli import main

# guarded: worker processes started with spawn/forkserver import this module as __mp_main__
if __name__ == "__main__":
    sys.exit(main())
