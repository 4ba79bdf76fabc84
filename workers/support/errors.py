"""Errors the support services raise; the CLI turns them into messages and exit codes."""


class NotFound(LookupError):
    """An unknown salon or failure id."""
