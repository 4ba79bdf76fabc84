import subprocess
import sys

import pytest

from settings import DEVELOPMENT_DEFAULTS, KNOWN_DEFAULTS, OWN_SECRETS, REQUIRED_IN_PRODUCTION, ConfigError, RateLimit, Settings
from tests.support import ROOT

FULL_PRODUCTION = {
    "APP_ENV": "production",
    "DATABASE_URL": "postgresql://u@db/aiadmin",
    "REDIS_URL": "redis://redis:6379/0",
    "JWT_SECRET": "j" * 32,
    "PUBLIC_BASE_URL": "https://adminai.example/",
    "YCLIENTS_PARTNER_TOKEN": "p" * 20,
    "YCLIENTS_APP_ID": "18289",
    "WAHA_URL": "http://waha:3000",
    "WAHA_API_KEY": "k" * 20,
    "WAHA_WEBHOOK_SECRET": "s" * 32,
    "BRIDGE_PUBLIC_URL": "http://bridge:5001",
    "YCLIENTS_PARTNER_ID": "4242",
    "HEALTH_TOKEN": "h" * 32,
    "SUPPORT_CONTACT": "https://t.me/aiadmin_support",
}


def test_production_without_secrets_names_every_missing_variable():
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"APP_ENV": "production"})
    assert set(info.value.missing) == set(REQUIRED_IN_PRODUCTION)
    for name in REQUIRED_IN_PRODUCTION:
        assert name in str(info.value)


def test_app_env_defaults_to_production():
    with pytest.raises(ConfigError):
        Settings.from_env({})


def test_production_with_every_variable_builds_frozen_settings():
    settings = Settings.from_env(FULL_PRODUCTION)
    assert settings.is_production and settings.log_json
    assert settings.public_base_url == "https://adminai.example"
    assert settings.yclients_app_id == 18289
    with pytest.raises(Exception):
        settings.jwt_secret = "x"  # frozen


def test_one_missing_secret_is_named_alone():
    env = dict(FULL_PRODUCTION)
    del env["WAHA_WEBHOOK_SECRET"]
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert info.value.missing == ("WAHA_WEBHOOK_SECRET",)


def test_development_fills_safe_defaults():
    settings = Settings.from_env({"APP_ENV": "development"})
    assert settings.database_url.startswith("sqlite:///") and settings.database_url.endswith("var/aiadmin.db")
    assert settings.redis_url.startswith("unix://")
    assert settings.waha_url == "http://127.0.0.1:5002"
    assert settings.yclients_api_url == "https://api.yclients.com"
    assert settings.yclients_rate_limit.windows == ((5, 1), (200, 60))


def test_unknown_app_env_is_refused():
    with pytest.raises(ConfigError):
        Settings.from_env({"APP_ENV": "staging"})


@pytest.mark.parametrize("text,windows", [
    ("5/s,200/min", ((5, 1), (200, 60))),
    ("200/min, 5/s", ((5, 1), (200, 60))),
    ("1000/h", ((1000, 3600),)),
    ("10/10s", ((10, 10),)),
])
def test_rate_limit_parses_budgets(text, windows):
    assert RateLimit.parse(text).windows == windows


@pytest.mark.parametrize("text", ["", "fast", "5/fortnight", "0/s", "-1/s"])
def test_rate_limit_refuses_nonsense(text):
    with pytest.raises(ConfigError):
        RateLimit.parse(text)


def test_cli_in_production_without_secrets_exits_non_zero_listing_them():
    result = subprocess.run([sys.executable, "-m", "workers.cli", "migrate"], cwd=ROOT,
                            env={"APP_ENV": "production", "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "missing required environment variables" in result.stderr
    assert "JWT_SECRET" in result.stderr and "YCLIENTS_PARTNER_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_web_in_production_without_secrets_refuses_to_start():
    result = subprocess.run([sys.executable, "-c", "import web; web.create_app()"], cwd=ROOT,
                            env={"APP_ENV": "production", "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "WAHA_WEBHOOK_SECRET" in result.stderr


def test_trusted_proxies_default_to_loopback_and_read_cidrs():
    import ipaddress

    assert Settings.from_env({"APP_ENV": "development"}).trusted_proxies == (
        ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
    custom = Settings.from_env({"APP_ENV": "development", "TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7"})
    assert custom.trusted_proxies == (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("192.0.2.7/32"))
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        Settings.from_env({"APP_ENV": "development", "TRUSTED_PROXIES": "not-a-net"})


def test_partner_id_and_support_contact_are_read():
    settings = Settings.from_env(FULL_PRODUCTION)
    assert settings.yclients_partner_id == "4242"
    assert settings.support_contact == "https://t.me/aiadmin_support"


KNOWN = sorted((name, value) for name, values in KNOWN_DEFAULTS.items() for value in values)


@pytest.mark.parametrize("name,value", KNOWN)
def test_production_refuses_each_known_default_naming_the_variable_not_the_value(name, value):
    env = {**FULL_PRODUCTION, name: value}
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert info.value.weak == (name,)
    assert str(info.value) == f"APP_ENV=production refuses to start: unsafe secrets: {name} is a known development default"


def test_every_secret_development_default_is_a_known_default():
    for name in ("JWT_SECRET", "WAHA_WEBHOOK_SECRET", "YCLIENTS_PARTNER_TOKEN", "WAHA_API_KEY"):
        assert DEVELOPMENT_DEFAULTS[name] in KNOWN_DEFAULTS[name]


def test_the_sandbox_defaults_are_known_defaults_too():
    from sandbox.whatsapp.app import DEFAULT_API_KEY

    assert DEFAULT_API_KEY in KNOWN_DEFAULTS["WAHA_API_KEY"]
    source = (ROOT / "sandbox" / "yclients" / "app.py").read_text()
    assert '"YCLIENTS_PARTNER_TOKEN", "dev-partner-token"' in source
    assert "dev-partner-token" in KNOWN_DEFAULTS["YCLIENTS_PARTNER_TOKEN"]


@pytest.mark.parametrize("name", OWN_SECRETS)
@pytest.mark.parametrize("length", [1, 16, 31])
def test_production_refuses_our_own_secrets_shorter_than_32_characters(name, length):
    with pytest.raises(ConfigError) as info:
        Settings.from_env({**FULL_PRODUCTION, name: "Z" * length})
    assert info.value.weak == (name,) and "shorter than 32" in str(info.value)
    assert Settings.from_env({**FULL_PRODUCTION, name: "Z" * 32})  # 32 is enough


def test_credentials_issued_by_others_are_not_held_to_our_length():
    settings = Settings.from_env({**FULL_PRODUCTION, "YCLIENTS_PARTNER_TOKEN": "short-real-tok",
                                  "WAHA_API_KEY": "k1"})
    assert settings.yclients_partner_token == "short-real-tok" and settings.waha_api_key == "k1"


def test_every_weak_secret_is_named_at_once():
    env = {**FULL_PRODUCTION, "JWT_SECRET": DEVELOPMENT_DEFAULTS["JWT_SECRET"], "HEALTH_TOKEN": "x",
           "WAHA_WEBHOOK_SECRET": "dev-waha-webhook-secret", "YCLIENTS_PARTNER_TOKEN": "dev-partner-token",
           "WAHA_API_KEY": "dev-waha-api-key"}
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert set(info.value.weak) == {"JWT_SECRET", "HEALTH_TOKEN", "WAHA_WEBHOOK_SECRET", "YCLIENTS_PARTNER_TOKEN",
                                    "WAHA_API_KEY"}


def test_development_still_runs_on_its_defaults():
    settings = Settings.from_env({"APP_ENV": "development"})
    assert settings.jwt_secret == DEVELOPMENT_DEFAULTS["JWT_SECRET"]


def test_web_in_production_with_a_development_secret_refuses_to_start():
    env = {**FULL_PRODUCTION, "JWT_SECRET": DEVELOPMENT_DEFAULTS["JWT_SECRET"], "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", "import web; web.create_app()"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "JWT_SECRET is a known development default" in result.stderr
    assert DEVELOPMENT_DEFAULTS["JWT_SECRET"] not in result.stderr and "Traceback" not in result.stderr
