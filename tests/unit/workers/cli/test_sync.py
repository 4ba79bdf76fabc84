"""`aiadmin resync [--wait]`, `purge` (with confirmation) and `ping`."""
import json
import threading

from dramatiq import Message

from models.live import LiveStatus
from tests.fakes.support_rows import onboarded_salon
from workers.cli import main
from workers.cli import sync as cli_sync
from workers.cli.sync import progress_line
from tests.fakes.cli import publish_when_enqueued, run


def sync_messages(redis_client):
    ids = redis_client.lrange("dramatiq:sync", 0, -1)
    return [Message.decode(redis_client.hget("dramatiq:sync.msgs", i)) for i in ids]


def test_resync_enqueues_a_full_sync(database, settings, redis_client, capsys):
    onboarded_salon()
    code, out, _ = run(capsys, settings, "resync", "962302", "--json")
    assert code == 0 and json.loads(out)["status"] == "enqueued"
    [message] = sync_messages(redis_client)
    assert (message.actor_name, message.args) == ("sync_salon", (962302, "full"))


def test_resync_wait_follows_progress_and_exits_0_when_done(database, settings, redis_client, capsys):
    onboarded_salon()
    # An earlier sync's `done` is in the snapshot already: it must not end the wait.
    LiveStatus(redis_client).publish(962302, "sync", {"status": "done", "entity": "records", "done": 1, "total": 1})
    thread = publish_when_enqueued(redis_client, [
        {"status": "running", "entity": "clients", "done": 100, "total": 200},
        {"status": "running", "entity": "records", "done": 50, "total": 200},
        {"status": "done", "entity": "records", "done": 200, "total": 200},
    ])
    code, out, err = run(capsys, settings, "resync", "962302", "--wait", "--timeout", "20")
    thread.join(5)
    assert code == 0, err
    assert "clients 100/200" in out and "records 200/200" in out and out.strip().endswith("sync done")
    assert "[###############...............]  50.0%  clients" in out


def test_resync_wait_exits_1_when_the_sync_fails(database, settings, redis_client, capsys):
    onboarded_salon()
    publish_when_enqueued(redis_client, [{"status": "failed", "entity": "clients", "done": 3, "total": 9,
                                          "message": "YCLIENTS answered 503"}])
    code, out, _ = run(capsys, settings, "resync", "962302", "--wait", "--timeout", "20", "--json")
    assert code == 1 and json.loads(out)["status"] == "failed"


def test_resync_wait_gives_up_after_the_timeout(database, settings, redis_client, capsys):
    onboarded_salon()
    code, out, _ = run(capsys, settings, "resync", "962302", "--wait", "--timeout", "0.3")
    assert code == 1 and "no end of the sync" in out


def test_resync_of_an_unknown_salon_enqueues_nothing(database, settings, redis_client, capsys):
    code, _, err = run(capsys, settings, "resync", "77")
    assert code == 1 and "unknown salon 77" in err and not redis_client.llen("dramatiq:sync")


def test_progress_line_handles_unknown_totals():
    assert progress_line({"status": "running", "entity": "staff", "done": 0, "total": 0}).endswith("staff 0/?  running")


def fake_purge(monkeypatch, calls):
    monkeypatch.setattr(cli_sync, "purge_salon",
                        lambda salon_id: calls.append(salon_id) or {"salon_id": salon_id, "clients": 3})


def test_purge_asks_for_the_salon_id_and_aborts_on_a_mismatch(database, settings, capsys, monkeypatch):
    onboarded_salon()
    calls = []
    fake_purge(monkeypatch, calls)
    monkeypatch.setattr("builtins.input", lambda prompt: "962303")
    code, _, err = run(capsys, settings, "purge", "962302")
    assert code == 1 and "aborted" in err and calls == []
    monkeypatch.setattr("builtins.input", lambda prompt: "962302")
    code, out, _ = run(capsys, settings, "purge", "962302")
    assert code == 0 and calls == [962302] and "clients=3" in out


def test_purge_yes_skips_the_question(database, settings, capsys, monkeypatch):
    onboarded_salon()
    calls = []
    fake_purge(monkeypatch, calls)
    monkeypatch.setattr("builtins.input", lambda prompt: (_ for _ in ()).throw(AssertionError("asked")))
    code, out, _ = run(capsys, settings, "purge", "962302", "--yes", "--json")
    assert code == 0 and json.loads(out) == {"clients": 3, "salon_id": 962302}


def test_purge_of_an_unknown_salon_exits_1(database, settings, capsys):
    assert run(capsys, settings, "purge", "31337", "--yes")[0] == 1


def test_ping_without_a_worker_exits_1(database, settings, redis_client, capsys):
    code, _, err = run(capsys, settings, "ping", "--timeout", "0.2")
    assert code == 1 and "no worker answered" in err
    assert redis_client.llen("dramatiq:diagnostics") == 1


def test_purge_deletes_the_salons_data_for_real(database, settings, capsys, monkeypatch):
    from models import synced
    from models.salon import Salon

    onboarded_salon()
    onboarded_salon(1001)
    monkeypatch.setattr("builtins.input", lambda prompt: "962302")
    code, out, err = run(capsys, settings, "purge", "962302", "--json")
    assert code == 0, err
    assert json.loads(out)["clients"] == 4 and json.loads(out)["records"] == 5
    assert synced.Client.select().where(synced.Client.salon_id == 962302).count() == 0
    assert synced.Client.select().where(synced.Client.salon_id == 1001).count() == 4  # another salon untouched
    assert Salon.get_by_id(962302).installer_phone == ""


def test_resync_of_a_salon_that_is_not_active_is_refused(database, settings, redis_client, capsys):
    from models.salon import Salon

    Salon.create(salon_id=55, state="uninstalled")
    code, _, err = run(capsys, settings, "resync", "55", "--wait")
    assert code == 1 and "only an active salon" in err and not redis_client.llen("dramatiq:sync")


def test_a_quiet_first_look_does_not_jump_past_progress_still_in_flight(redis_client):
    """Under load the first half second can pass before published messages arrive: the snapshot (already at the
    last event) must not be read then, or every progress line before it is skipped as older."""
    from models.live import channel, snapshot_key
    from workers.cli.sync import wait_for_sync

    since = int(redis_client.hget(snapshot_key(962302), "seq") or 0)
    subscribed = redis_client.pubsub(ignore_subscribe_messages=True)
    subscribed.subscribe(channel(962302))
    live = LiveStatus(redis_client)
    for data in ({"status": "running", "entity": "clients", "done": 100, "total": 200},
                 {"status": "running", "entity": "records", "done": 50, "total": 200},
                 {"status": "done", "entity": "records", "done": 200, "total": 200}):
        live.publish(962302, "sync", data)

    class Late:
        """The first look comes back empty, as when the messages are still on their way."""

        first = True

        def get_message(self, timeout):
            if self.first:
                self.first = False
                return None
            return subscribed.get_message(timeout=timeout)

    shown = []
    final = wait_for_sync(redis_client, 962302, since, Late(), 10, shown.append)
    subscribed.close()
    assert final["data"]["status"] == "done"
    assert [(d["entity"], d["done"]) for d in shown] == [("clients", 100), ("records", 50), ("records", 200)]
