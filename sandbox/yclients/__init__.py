"""A YCLIENTS marketplace + API stand-in (process `yclients-sandbox`)."""
