"""What a browser or an outsider can reach at all: no route triggers an activation (S-20), the routes are the
documented ones, and no secret is committed to the repository (S-15)."""
from __future__ import annotations

import re
import subprocess

from tests.support import ROOT
from web.marketplace import tokens

# Only the bridge relay (on WAHA's signed "WORKING") may start an activation: never a request from a browser.
ACTIVATION_ACTORS = {"on_whatsapp_connected", "activate_integration", "send_welcome", "sync_salon"}
DOCUMENTED = {"/auth/yclients/redirect", "/marketplace/onboarding", "/marketplace/ws", "/marketplace/status",
              "/marketplace/pairing-code", "/marketplace/restart-linking", "/marketplace/retry", "/webhook/yclients",
              "/webhook/yclients/<key>", "/marketplace/health", "/healthz", "/metrics", "/static/<path:filename>"}


def test_the_web_tier_serves_only_the_documented_routes(web_app):
    assert {rule.rule for rule in web_app.url_map.iter_rules()} == DOCUMENTED


def test_no_browser_request_can_trigger_an_activation_even_with_a_valid_session(web_app, client, settings, jobs):
    from models.salon import Salon

    Salon.create(salon_id=962302, title="Салон")  # pending_whatsapp: WhatsApp is NOT connected
    link = tokens.issue(settings.jwt_secret, tokens.LINK, [962302], 42)
    assert client.get(f"/marketplace/onboarding?token={link}").status_code == 302
    for rule in web_app.url_map.iter_rules():
        url = rule.rule.replace("<key>", "k" * 40).replace("<path:filename>", "x.js")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for body in ({}, {"salon_id": 962302, "phone": "79001234567", "action": "activate"}):
                client._call(method.lower(), url, json=body)
    assert not ACTIVATION_ACTORS & set(jobs.names()), jobs.calls()
    assert Salon.get_by_id(962302).api_key in (None, "")  # nothing asked YCLIENTS for anything


# An environment variable set to something that looks like a real secret (long, letters and digits mixed).
SECRET_ASSIGNMENT = re.compile(
    r"\b(?P<name>[A-Z_]*(?:PARTNER_TOKEN|USER_TOKEN|JWT_SECRET|WAHA_API_KEY|WAHA_WEBHOOK_SECRET|HEALTH_TOKEN|"
    r"BOT_TOKEN|PASSWORD))\s*[:=]\s*['\"]?(?P<value>[^\s'\"`,)}]+)")
PLACEHOLDER = re.compile(r"^(\$|<|\{|%|\.\.\.|…|change|example|your|test|dev|dummy|fake|sandbox)", re.I)
DB_URL_WITH_PASSWORD = re.compile(r"postgres(?:ql)?://[^:/\s@]+:(?P<password>[^@\s/]+)@")


def test_no_credential_is_committed_to_the_repository():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    found = []
    for name in files:
        if name.startswith(("tests/", "sandbox/")) or not name.endswith((".md", ".py", ".cfg", ".toml", ".txt",
                                                                          ".env", ".yml", ".yaml", "Procfile",
                                                                          ".ini", ".example")):
            continue
        text = (ROOT / name).read_text(encoding="utf-8", errors="replace")
        for match in SECRET_ASSIGNMENT.finditer(text):
            value = match.group("value")
            looks_real = len(value) >= 16 and re.search(r"\d", value) and re.search(r"[a-zA-Z]", value)
            if looks_real and not PLACEHOLDER.search(value):
                found.append(f"{name}: {match.group('name')}={value[:4]}…")
        for match in DB_URL_WITH_PASSWORD.finditer(text):
            if not PLACEHOLDER.search(match.group("password")) and match.group("password") not in ("postgres",
                                                                                                  "password"):
                found.append(f"{name}: database URL with a password")
    assert not found, found
