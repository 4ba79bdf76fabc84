"""One frozen settings object, read from the environment once by each composition root."""
from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

ROOT = Path(__file__).resolve().parent.parent  # the project directory (runtime/ sits in it)
VAR_DIR = ROOT / "var"

PRODUCTION = "production"
DEVELOPMENT = "development"

# Variables with no default in production: the service refuses to start without them.
REQUIRED_IN_PRODUCTION = (
    "DATABASE_URL",
    "REDIS_URL",
    "JWT_SECRET",
    "PUBLIC_BASE_URL",
    "YCLIENTS_PARTNER_TOKEN",
    "YCLIENTS_APP_ID",
    "WAHA_URL",
    "WAHA_API_KEY",
    "WAHA_WEBHOOK_SECRET",
    "BRIDGE_PUBLIC_URL",
    "YCLIENTS_PARTNER_ID",
    "HEALTH_TOKEN",
    "SUPPORT_CONTACT",
)

# Development fills these so `make run` works on a fresh machine. None of them is a real secret.
DEVELOPMENT_DEFAULTS = {
    "DATABASE_URL": f"sqlite:///{VAR_DIR / 'aiadmin.db'}",
    "REDIS_URL": f"unix://{VAR_DIR / 'redis.sock'}?db=0",
    "JWT_SECRET": "dev-only-jwt-secret-change-me",
    "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
    "YCLIENTS_PARTNER_TOKEN": "dev-partner-token",
    "YCLIENTS_APP_ID": "18289",
    "WAHA_URL": "http://127.0.0.1:5002",
    "WAHA_API_KEY": "dev-waha-api-key",
    "WAHA_WEBHOOK_SECRET": "dev-waha-webhook-secret",
    "BRIDGE_PUBLIC_URL": "http://127.0.0.1:5001",
    "YCLIENTS_PARTNER_ID": "1",
    "SUPPORT_CONTACT": "support@aiadmin.example",
}

# Production refuses these values whatever their length: they are public (this file, the sandboxes, the docs),
# so a token signed with one of them can be forged offline by anyone who read the repository.
_PLACEHOLDERS = {"change-me", "changeme", "secret", "test_token_waiting_for_real"}
KNOWN_DEFAULTS = {
    "JWT_SECRET": {DEVELOPMENT_DEFAULTS["JWT_SECRET"]} | _PLACEHOLDERS,
    "WAHA_WEBHOOK_SECRET": {DEVELOPMENT_DEFAULTS["WAHA_WEBHOOK_SECRET"]} | _PLACEHOLDERS,
    "HEALTH_TOKEN": set(_PLACEHOLDERS),
    "YCLIENTS_PARTNER_TOKEN": {DEVELOPMENT_DEFAULTS["YCLIENTS_PARTNER_TOKEN"]} | _PLACEHOLDERS,
    "WAHA_API_KEY": {DEVELOPMENT_DEFAULTS["WAHA_API_KEY"], "admin"} | _PLACEHOLDERS,
}
# Our own secrets (we generate them, so we can make them long); credentials issued by others (the partner
# token, the gateway key) are only checked against KNOWN_DEFAULTS, their length is not ours to choose.
OWN_SECRETS = ("JWT_SECRET", "WAHA_WEBHOOK_SECRET", "HEALTH_TOKEN")
MIN_SECRET_LENGTH = 32

# Whose X-Forwarded-For is believed unless TRUSTED_PROXIES says otherwise: loopback only.
DEFAULT_TRUSTED_PROXIES = ("127.0.0.0/8", "::1/128")


class ConfigError(Exception):
    """The environment does not describe a runnable service."""

    def __init__(self, message: str, missing: tuple[str, ...] = (), weak: tuple[str, ...] = ()):
        super().__init__(message)
        self.missing = missing
        self.weak = weak  # variables set to a known default or too short a secret


@dataclass(frozen=True)
class RateLimit:
    """A budget such as `5/s,200/min`: a list of (limit, window seconds)."""

    windows: tuple[tuple[int, int], ...]

    _UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}

    @classmethod
    def parse(cls, text: str) -> "RateLimit":
        windows = []
        for part in (p.strip() for p in text.split(",") if p.strip()):
            match = re.fullmatch(r"(\d+)\s*/\s*(\d*)\s*([a-z]+)", part)
            if not match or match.group(3) not in cls._UNITS:
                raise ConfigError(f"YCLIENTS_RATE_LIMIT: cannot read {part!r} (expected e.g. '5/s,200/min')")
            limit, mult, unit = int(match.group(1)), int(match.group(2) or 1), match.group(3)
            if limit <= 0:
                raise ConfigError(f"YCLIENTS_RATE_LIMIT: limit must be positive in {part!r}")
            windows.append((limit, mult * cls._UNITS[unit]))
        if not windows:
            raise ConfigError("YCLIENTS_RATE_LIMIT is empty")
        return cls(tuple(sorted(windows, key=lambda w: w[1])))

    def __str__(self) -> str:
        return ",".join(f"{limit}/{window}s" for limit, window in self.windows)


@dataclass(frozen=True)
class Settings:
    app_env: str = DEVELOPMENT
    database_url: str = DEVELOPMENT_DEFAULTS["DATABASE_URL"]
    redis_url: str = DEVELOPMENT_DEFAULTS["REDIS_URL"]
    jwt_secret: str = DEVELOPMENT_DEFAULTS["JWT_SECRET"]
    public_base_url: str = DEVELOPMENT_DEFAULTS["PUBLIC_BASE_URL"]
    yclients_api_url: str = "https://api.yclients.com"
    yclients_partner_token: str = DEVELOPMENT_DEFAULTS["YCLIENTS_PARTNER_TOKEN"]
    yclients_app_id: int = int(DEVELOPMENT_DEFAULTS["YCLIENTS_APP_ID"])
    yclients_user_token: str = ""
    yclients_rate_limit: RateLimit = field(default_factory=lambda: RateLimit.parse("5/s,200/min"))
    waha_url: str = DEVELOPMENT_DEFAULTS["WAHA_URL"]
    waha_api_key: str = DEVELOPMENT_DEFAULTS["WAHA_API_KEY"]
    waha_webhook_secret: str = DEVELOPMENT_DEFAULTS["WAHA_WEBHOOK_SECRET"]
    bridge_public_url: str = DEVELOPMENT_DEFAULTS["BRIDGE_PUBLIC_URL"]
    health_token: str = ""
    yclients_partner_id: str = DEVELOPMENT_DEFAULTS["YCLIENTS_PARTNER_ID"]
    support_contact: str = DEVELOPMENT_DEFAULTS["SUPPORT_CONTACT"]
    trusted_proxies: tuple = field(default_factory=lambda: _networks(""))
    # Tuning knobs (documented in docs/operations.md); safe defaults, rarely changed.
    records_days_back: int = 30
    records_days_ahead: int = 90
    http_timeout: float = 10.0
    log_json: bool = False
    # Test and benchmark workers only: also register the fault-injection actors (workers/actors/fault_injection.py).
    diagnostic_actors: bool = False

    @property
    def is_production(self) -> bool:
        return self.app_env == PRODUCTION

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = dict(os.environ if environ is None else environ)
        app_env = env.get("APP_ENV", PRODUCTION).strip() or PRODUCTION
        if app_env not in (PRODUCTION, DEVELOPMENT):
            raise ConfigError(f"APP_ENV must be 'production' or 'development', not {app_env!r}")

        def get(name: str) -> str:
            value = env.get(name, "").strip()
            if not value and app_env == DEVELOPMENT:
                value = DEVELOPMENT_DEFAULTS.get(name, "")
            return value

        if app_env == PRODUCTION:
            missing = tuple(name for name in REQUIRED_IN_PRODUCTION if not env.get(name, "").strip())
            if missing:
                raise ConfigError(
                    "APP_ENV=production refuses to start: missing required environment variables: "
                    + ", ".join(missing),
                    missing,
                )

            weak = weak_secrets(env)
            if weak:
                raise ConfigError(
                    "APP_ENV=production refuses to start: unsafe secrets: " + "; ".join(weak),
                    weak=tuple(name for name, _ in weak_secret_names(env)),
                )

        try:
            app_id = int(get("YCLIENTS_APP_ID"))
        except ValueError:
            raise ConfigError("YCLIENTS_APP_ID must be an integer") from None

        def number(name: str, default: str, kind=int):
            raw = env.get(name, "").strip() or default
            try:
                return kind(raw)
            except ValueError:
                raise ConfigError(f"{name} must be a number, not {raw!r}") from None

        return cls(
            app_env=app_env,
            database_url=get("DATABASE_URL"),
            redis_url=get("REDIS_URL"),
            jwt_secret=get("JWT_SECRET"),
            public_base_url=get("PUBLIC_BASE_URL").rstrip("/"),
            yclients_api_url=(env.get("YCLIENTS_API_URL", "").strip() or "https://api.yclients.com").rstrip("/"),
            yclients_partner_token=get("YCLIENTS_PARTNER_TOKEN"),
            yclients_app_id=app_id,
            yclients_user_token=env.get("YCLIENTS_USER_TOKEN", "").strip(),
            yclients_rate_limit=RateLimit.parse(env.get("YCLIENTS_RATE_LIMIT", "").strip() or "5/s,200/min"),
            waha_url=get("WAHA_URL").rstrip("/"),
            waha_api_key=get("WAHA_API_KEY"),
            waha_webhook_secret=get("WAHA_WEBHOOK_SECRET"),
            bridge_public_url=get("BRIDGE_PUBLIC_URL").rstrip("/"),
            health_token=env.get("HEALTH_TOKEN", "").strip(),
            yclients_partner_id=get("YCLIENTS_PARTNER_ID"),
            support_contact=get("SUPPORT_CONTACT"),
            trusted_proxies=_networks(env.get("TRUSTED_PROXIES", "")),
            records_days_back=number("RECORDS_DAYS_BACK", "30"),
            records_days_ahead=number("RECORDS_DAYS_AHEAD", "90"),
            http_timeout=number("HTTP_TIMEOUT", "10", float),
            log_json=app_env == PRODUCTION or env.get("LOG_JSON", "") == "1",
            diagnostic_actors=env.get("DIAGNOSTIC_ACTORS", "") == "1",
        )

    def credentials_configured(self) -> dict[str, bool]:
        """Which credentials are present (never their values), for the detailed health answer."""
        return {
            "partner_token_configured": bool(self.yclients_partner_token),
            "app_id_configured": bool(self.yclients_app_id),
            "jwt_secret_configured": bool(self.jwt_secret),
            "waha_api_key_configured": bool(self.waha_api_key),
            "waha_webhook_secret_configured": bool(self.waha_webhook_secret),
            "health_token_configured": bool(self.health_token),
        }


def weak_secret_names(env: Mapping[str, str]) -> list[tuple[str, str]]:
    """(variable, reason) for each secret production must not run with; the value itself is never named."""
    found = []
    for name, defaults in KNOWN_DEFAULTS.items():
        value = env.get(name, "").strip()
        if value.lower() in {d.lower() for d in defaults}:
            found.append((name, "a known development default"))
        elif name in OWN_SECRETS and len(value) < MIN_SECRET_LENGTH:
            found.append((name, f"shorter than {MIN_SECRET_LENGTH} characters"))
    return found


def weak_secrets(env: Mapping[str, str]) -> list[str]:
    return [f"{name} is {reason}" for name, reason in weak_secret_names(env)]


def _networks(text: str) -> tuple:
    """TRUSTED_PROXIES: comma- or space-separated CIDRs (a bare address is a /32 or /128)."""
    parts = [p for p in re.split(r"[\s,]+", text.strip()) if p]
    if not parts:
        return tuple(ipaddress.ip_network(p) for p in DEFAULT_TRUSTED_PROXIES)
    networks = []
    for part in parts:
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigError(f"TRUSTED_PROXIES: {part!r} is not an address or CIDR") from None
    return tuple(networks)


def load_or_exit(environ: Mapping[str, str] | None = None) -> Settings:
    """For composition roots: settings, or a clear message and exit status 2."""
    try:
        return Settings.from_env(environ)
    except ConfigError as exc:
        print(f"aiadmin: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
