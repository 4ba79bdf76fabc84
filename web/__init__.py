"""The web tier: validates tokens, serves the onboarding page, streams status; never calls YCLIENTS or WAHA."""
from web.app import create_app

__all__ = ["create_app"]
