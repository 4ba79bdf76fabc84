"""Thin actors: options on the decorator, ids in, a service function does the work."""
