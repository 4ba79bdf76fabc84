"""`aiadmin`: the support and operations command line (also `python -m workers.cli`); one module per command group."""
from workers.cli.dispatch import main

__all__ = ["main"]
