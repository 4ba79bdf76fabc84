"""`aiadmin failed` and `requeue`: enqueue a fresh copy first, then drop the dead letter, then mark the row."""
import json
import time

import pytest
from dramatiq import Message

from models.failure import Failure
from tests.fakes.support_rows import failure, onboarded_salon
from runtime.broker import build_broker
from workers.cli import main
from workers.support import requeue as requeue_mod


def run(capsys, settings, *argv):
    code = main(list(argv), settings=settings)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def dead_letter(redis_client, queue="sync", actor="sync_salon", args=(962302, "full"), redis_id="r-1"):
    """Put a message into the broker's dead-letter set exactly as Dramatiq's nack does."""
    body = Message(queue_name=queue, actor_name=actor, args=args, kwargs={},
                   options={"redis_message_id": redis_id, "retries": 7, "max_retries": 6,
                            "traceback": "Traceback..."}).encode()
    # Scored now: the broker's maintenance (frequent here, runtime/broker.py) purges dead letters older than
    # its 7-day TTL, so an old score would make the set vanish at random during an enqueue.
    redis_client.zadd(f"dramatiq:{queue}.XQ", {redis_id: int(time.time() * 1000)})
    redis_client.hset(f"dramatiq:{queue}.XQ.msgs", redis_id, body)


def queued(redis_client, queue="sync"):
    ids = redis_client.lrange(f"dramatiq:{queue}", 0, -1)
    return [Message.decode(redis_client.hget(f"dramatiq:{queue}.msgs", i)) for i in ids]


def test_failed_json_lists_actor_salon_error_attempts_time_and_status(database, settings, capsys):
    onboarded_salon()
    f = failure()
    failure(actor="send_welcome", queue="onboarding", status="resolved")
    code, out, _ = run(capsys, settings, "failed", "--json")
    rows = json.loads(out)
    assert code == 0 and [r["id"] for r in rows] == [f.id]
    row = rows[0]
    assert row["actor"] == "sync_salon" and row["salon_id"] == 962302 and row["attempts"] == 7
    assert row["error"] == "requests.HTTPError: 503 Server Error" and row["status"] == "open"
    assert row["created_at"] == "2026-11-27T10:00:20Z"
    assert len(json.loads(run(capsys, settings, "failed", "--json", "--status", "all")[1])) == 2
    assert json.loads(run(capsys, settings, "failed", "--json", "--salon", "1")[1]) == []
    text = run(capsys, settings, "failed")[1]
    assert "sync_salon" in text and "503 Server Error" in text


def test_requeue_enqueues_a_fresh_copy_then_removes_the_dead_letter(database, settings, redis_client, capsys):
    onboarded_salon()
    dead_letter(redis_client)
    f = failure(redis_message_id="r-1")
    code, out, err = run(capsys, settings, "requeue", str(f.id))
    assert code == 0, err
    assert f"re-queued failure {f.id} (sync_salon)" in out
    [message] = queued(redis_client)
    assert (message.actor_name, message.args, message.kwargs) == ("sync_salon", (962302, "full"), {})
    assert "retries" not in message.options and "traceback" not in message.options  # retries reset
    assert message.options["aiadmin_requeued_from"] == f.id
    assert redis_client.zcard("dramatiq:sync.XQ") == 0 and redis_client.hlen("dramatiq:sync.XQ.msgs") == 0
    row = Failure.get_by_id(f.id)
    assert row.status == "requeued" and row.requeue_count == 1


def test_a_crash_between_enqueue_and_delete_loses_nothing(database, settings, redis_client):
    dead_letter(redis_client)
    f = failure(redis_message_id="r-1")

    def crash(message):
        raise KeyboardInterrupt("killed right after the enqueue")

    with pytest.raises(KeyboardInterrupt):
        requeue_mod.requeue(build_broker(settings), f, on_enqueued=crash)
    # The work is on the queue AND still in the dead-letter set: at worst it runs twice, never zero times.
    assert len(queued(redis_client)) == 1
    assert redis_client.zcard("dramatiq:sync.XQ") == 1
    assert Failure.get_by_id(f.id).status == "open"  # a second `requeue` is still possible


def test_requeue_without_a_dead_letter_rebuilds_the_message_from_the_failure_row(database, settings, redis_client,
                                                                                 capsys):
    f = failure(redis_message_id="gone-after-7-days")
    code, out, _ = run(capsys, settings, "requeue", str(f.id))
    assert code == 0 and "rebuilt from the failure record" in out
    [message] = queued(redis_client)
    assert message.args == (962302, "full") and message.options["max_retries"] == 6


def test_requeue_salon_and_all_take_only_open_failures(database, settings, redis_client, capsys):
    onboarded_salon()
    onboarded_salon(1001)
    a = failure()
    failure(status="resolved")
    b = failure(salon_id=1001, actor="send_welcome", queue="onboarding", args=[1001])
    code, out, _ = run(capsys, settings, "requeue", "--salon", "962302", "--json")
    assert code == 0 and [r["failure_id"] for r in json.loads(out)] == [a.id]
    code, out, _ = run(capsys, settings, "requeue", "--all", "--json")
    assert [r["failure_id"] for r in json.loads(out)] == [b.id]  # a is `requeued` now, not open
    assert run(capsys, settings, "requeue", "--all")[1].strip() == "nothing to re-queue"


def test_requeue_of_a_resolved_failure_by_id_is_allowed_and_stays_resolved(database, settings, redis_client, capsys):
    f = failure(status="resolved")
    assert run(capsys, settings, "requeue", str(f.id))[0] == 0
    row = Failure.get_by_id(f.id)
    assert row.status == "resolved" and row.requeue_count == 1 and len(queued(redis_client)) == 1


def test_requeue_usage_and_unknown_ids(database, settings, capsys):
    assert run(capsys, settings, "requeue")[0] == 2
    assert run(capsys, settings, "requeue", "1", "--all")[0] == 2
    code, _, err = run(capsys, settings, "requeue", "999999")
    assert code == 1 and "unknown failure 999999" in err
    code, _, err = run(capsys, settings, "requeue", "--salon", "424242")
    assert code == 1 and "unknown salon 424242" in err


def test_a_requeued_job_that_succeeds_marks_its_failure_resolved(database, settings):
    from runtime.requeue_outcome import RequeueOutcome

    f = failure(status="requeued")
    message = Message(queue_name="sync", actor_name="sync_salon", args=(1,), kwargs={},
                      options={"aiadmin_requeued_from": f.id})
    RequeueOutcome().after_process_message(None, message, result=None, exception=RuntimeError("again"))
    assert Failure.get_by_id(f.id).status == "requeued"
    RequeueOutcome().after_process_message(None, message, result=None, exception=None)
    assert Failure.get_by_id(f.id).status == "resolved"


def test_requeue_of_an_actor_that_no_longer_exists_is_refused(database, settings, redis_client, capsys):
    f = failure(actor="renamed_long_ago", queue="sync")
    code, _, err = run(capsys, settings, "requeue", str(f.id))
    assert code == 1 and "renamed_long_ago" in err
    assert redis_client.llen("dramatiq:sync") == 0 and Failure.get_by_id(f.id).status == "open"


def test_requeue_all_sends_the_good_ones_and_reports_the_bad_one(database, settings, redis_client, capsys):
    good = failure()
    failure(actor="renamed_long_ago", queue="sync")
    code, out, err = run(capsys, settings, "requeue", "--all")
    assert code == 1 and "renamed_long_ago" in err and f"re-queued failure {good.id}" in out
    assert len(queued(redis_client)) == 1
