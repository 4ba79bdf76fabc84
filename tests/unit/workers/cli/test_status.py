"""`aiadmin status` and `timeline`: the report matches the database, phones are masked, unknown ids exit 1."""
import json

from tests.fakes.support_rows import PHONE, failure, onboarded_salon
from workers.cli import main


def run(capsys, settings, *argv):
    code = main(list(argv), settings=settings)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_status_json_reports_what_the_database_holds(database, settings, capsys):
    onboarded_salon()
    failure()
    failure(actor="send_welcome", queue="onboarding", status="resolved")
    code, out, err = run(capsys, settings, "status", "962302", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["salon_id"] == 962302
    assert report["state"] == "active"
    assert report["whatsapp"] == {"state": "connected", "phone": "7900***67", "connected_at": "2026-11-27T10:00:00Z"}
    assert report["activation"]["status"] == "done"
    assert report["activation"]["activated_at"] == "2026-11-27T10:00:04Z"
    assert report["counts"] == {"service_categories": 2, "services": 3, "staff": 1, "clients": 3, "records": 5}
    assert report["last_sync"]["status"] == "done"
    assert report["last_sync"]["duration_seconds"] == 12.5
    assert report["welcome_sent"] is True
    assert report["open_failures"] == 1
    assert PHONE not in out


def test_status_text_is_readable_and_masks_the_phone(database, settings, capsys):
    onboarded_salon()
    code, out, _ = run(capsys, settings, "status", "962302")
    assert code == 0
    assert "state:          active" in out and "7900***67" in out and PHONE not in out
    assert "welcome sent:   yes" in out and "clients 3" in out


def test_status_of_a_salon_that_never_activated(database, settings, capsys):
    from models.salon import Salon

    Salon.create(salon_id=5, state="activation_failed", activation_error="HTTPError: 500", activation_attempts=6)
    code, out, _ = run(capsys, settings, "status", "5", "--json")
    report = json.loads(out)
    assert report["activation"] == {"status": "failed", "activated_at": None, "attempts": 6, "error": "HTTPError: 500"}
    assert report["whatsapp"]["phone"] is None and report["last_sync"] is None and report["welcome_sent"] is False
    assert report["counts"]["records"] == 0


def test_unknown_salon_exits_1_with_a_clear_message(database, settings, capsys):
    code, out, err = run(capsys, settings, "status", "404404")
    assert code == 1 and out == "" and "unknown salon 404404" in err
    assert run(capsys, settings, "timeline", "404404")[0] == 1


def test_bad_salon_id_is_a_usage_error(database, settings, capsys):
    code, _, err = run(capsys, settings, "status", "abc")
    assert code == 2 and "not a number" in err


def test_configuration_error_exits_2(monkeypatch, capsys):
    monkeypatch.setenv("APP_ENV", "production")
    for name in ("DATABASE_URL", "REDIS_URL", "JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    code = main(["status", "1"])
    assert code == 2 and "configuration error" in capsys.readouterr().err


def test_timeline_lists_every_event_in_order_with_failures_and_masked_phones(database, settings, capsys):
    onboarded_salon()
    failure()
    code, out, _ = run(capsys, settings, "timeline", "962302", "--json")
    assert code == 0
    entries = json.loads(out)
    assert [e["kind"] for e in entries] == ["registration_started", "whatsapp_connected", "activated", "job_failed"]
    assert entries[1]["data"]["phone"] == "7900***67"
    assert PHONE not in out
    code, text, _ = run(capsys, settings, "timeline", "962302")
    assert "whatsapp_connected" in text and "job_failed" in text and PHONE not in text
