"""Where the page's links go: the real YCLIENTS in production, the local sandbox under `make run`."""
from __future__ import annotations

from urllib.parse import urlparse

REAL_API_HOST = "api.yclients.com"


def _sandbox_base(settings) -> str | None:
    """The sandbox's own address when YCLIENTS_API_URL points at one (it serves the marketplace page at /)."""
    parts = urlparse(settings.yclients_api_url or "")
    if not parts.netloc or parts.hostname == REAL_API_HOST:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def marketplace_url(settings) -> str:
    sandbox = _sandbox_base(settings)
    return f"{sandbox}/" if sandbox else "https://yclients.com/marketplace"


def yclients_url(settings) -> str:
    """«Вернуться в YCLIENTS»: the owner's YCLIENTS account (the sandbox's marketplace page locally)."""
    sandbox = _sandbox_base(settings)
    return f"{sandbox}/" if sandbox else "https://yclients.com/"


def support_href(contact: str) -> str:
    """A link for the support contact: a URL as is, an e-mail as mailto:, a phone as tel:, else nothing."""
    contact = (contact or "").strip()
    if contact.startswith(("https://", "http://")):
        return contact
    if "@" in contact and " " not in contact:
        return f"mailto:{contact}"
    digits = "".join(ch for ch in contact if ch.isdigit())
    if 7 <= len(digits) <= 15 and all(ch.isdigit() or ch in "+-() " for ch in contact):
        return f"tel:+{digits}"
    return ""
