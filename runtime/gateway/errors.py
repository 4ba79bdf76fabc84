"""Gateway errors, split by what an actor should do about them: retry, stop, or record as unknown."""
from __future__ import annotations


class GatewayError(Exception):
    """Anything that went wrong talking to the WhatsApp gateway."""

    retryable = False

    def __init__(self, message: str = "", *, status: int | None = None):
        super().__init__(message)
        self.status = status


class RetryableGatewayError(GatewayError):
    """Connection refused, connect timeout, 5xx: the request did not take effect; try again later."""

    retryable = True


class SessionNotReady(RetryableGatewayError):
    """The session is not in the state the call needs (e.g. not WORKING yet); try again later."""


class PermanentGatewayError(GatewayError):
    """Retrying cannot help (bad request, wrong API key, unknown session...)."""


class SessionNotFound(PermanentGatewayError):
    """The gateway has no session of that name."""


class InvalidPhone(PermanentGatewayError):
    """Not a phone number WhatsApp accepts (digits only, 10-15, no leading 0)."""


class RecipientRestricted(PermanentGatewayError):
    """Error 463 (reach-out timelock): new chats are blocked for this account; stop sending, alert."""


class AccountBanned(PermanentGatewayError):
    """Temporary ban / logged out by WhatsApp (101-106, 403, 406); stop sending, alert."""


class AmbiguousSend(GatewayError):
    """The request went out but no answer came back: the message may or may not have been sent.
    WAHA has no idempotency key, so this is recorded as `unknown` and never blindly retried."""
