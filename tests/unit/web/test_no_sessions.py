"""The app keeps no Flask session: no signed-cookie session is opened per request, and none can be written."""
from __future__ import annotations

import flask
import pytest
from flask.sessions import SecureCookieSessionInterface


def test_a_request_opens_no_cookie_session_and_flask_holds_no_secret(app, monkeypatch):
    opened = []
    monkeypatch.setattr(SecureCookieSessionInterface, "open_session", lambda *a: opened.append(a))
    client = app.test_client()
    client.set_cookie("session", "eyJ4IjoxfQ.forged.sig")  # a session cookie is not even looked at
    assert client.get("/healthz").status_code == 200
    assert opened == []
    assert not app.config.get("SECRET_KEY")  # the JWT secret is not handed to Flask for nothing


def test_writing_to_the_session_fails_loudly(app):
    with app.test_request_context("/"):
        with pytest.raises(RuntimeError):
            flask.session["salon"] = 1
