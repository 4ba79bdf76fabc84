"""Dramatiq broker setup, middleware, thin actors and the services they call."""
