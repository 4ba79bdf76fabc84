"""`python -m workers.cli`: the same as the `aiadmin` console script."""
import sys

from workers.cli.dispatch import main

sys.exit(main())
