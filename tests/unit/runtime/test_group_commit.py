"""Group commit: concurrent items share one write, in order; a failed batch fails nobody it need not;
close() drains; under gevent the write runs on a native thread while the event loop keeps running."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import pytest

from runtime.group_commit import Closed, GroupCommit
from tests.support import ROOT


class Recorder:
    """A write that blocks until released, so the test decides what gathers behind it."""

    def __init__(self, fail_on=None, fail_all=None):
        self.batches: list[list] = []
        self.stored: list = []
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.fail_on = fail_on
        self.fail_all = fail_all

    def __call__(self, items):
        self.entered.set()
        self.gate.wait(10)
        self.batches.append(list(items))
        if self.fail_all is not None:
            raise self.fail_all
        if self.fail_on is not None and self.fail_on in items:
            raise ValueError("a bad item")  # all or nothing: this batch stores none of its items
        self.stored.extend(items)
        return [f"id-{item}" for item in items]


def submit_all(writer, items, results=None):
    results, threads = {} if results is None else results, []

    def one(item):
        try:
            results[item] = writer.submit(item)
        except Exception as exc:  # noqa: BLE001 - the test looks at which
            results[item] = exc

    for item in items:
        thread = threading.Thread(target=one, args=(item,))
        thread.start()
        threads.append(thread)
    return results, threads


def wait_pending(writer, n):
    from tests.support import wait_for

    wait_for(lambda: len(writer._pending) >= n, message=f"{n} pending items")


def submit_one_by_one(writer, items):
    """Submit each item only once the one before is pending (behind a blocked write), so the order of submission
    is known; (results by item, filled as the submits return; threads)."""
    results, threads = {}, []
    for n, item in enumerate(items, start=1):
        threads += submit_all(writer, [item], results)[1]
        wait_pending(writer, n)
    return results, threads


def test_items_arriving_during_a_write_share_the_next_commit_in_submission_order():
    write = Recorder()
    writer = GroupCommit(write, idle_s=0.2)
    first, threads = submit_all(writer, ["a"])
    assert write.entered.wait(5)
    later, more = submit_one_by_one(writer, ["b", "c", "d", "e"])
    write.gate.set()
    for thread in threads + more:
        thread.join(5)
    assert write.batches == [["a"], ["b", "c", "d", "e"]]  # 2 commits for 5 items, in order
    assert first["a"] == "id-a" and [later[i] for i in "bcde"] == ["id-b", "id-c", "id-d", "id-e"]
    writer.close()


def test_a_batch_that_fails_is_written_item_by_item_so_only_the_bad_item_fails():
    write = Recorder(fail_on="bad")
    writer = GroupCommit(write, idle_s=0.2)
    _, threads = submit_all(writer, ["first"])
    assert write.entered.wait(5)
    answers, more = submit_one_by_one(writer, ["x", "bad", "y"])
    write.gate.set()
    for thread in threads + more:
        thread.join(5)
    assert answers["x"] == "id-x" and answers["y"] == "id-y"
    assert isinstance(answers["bad"], ValueError)
    assert write.stored == ["first", "x", "y"]  # the failed batch stored nothing; each retried alone
    writer.close()


def test_when_the_store_is_down_every_caller_gets_the_error_and_nothing_is_stored():
    write = Recorder(fail_all=ConnectionError("database is down"))
    write.gate.set()
    writer = GroupCommit(write, idle_s=0.2)
    results, threads = submit_all(writer, list(range(8)))
    for thread in threads:
        thread.join(5)
    assert all(isinstance(r, ConnectionError) for r in results.values()) and len(results) == 8
    assert write.stored == []
    writer.close()


def test_after_runs_once_per_batch_with_the_stored_items_before_their_callers_return():
    write = Recorder()
    seen = []
    writer = GroupCommit(write, after=lambda items, ids: seen.append((list(items), list(ids))), idle_s=0.2)
    write.gate.set()
    assert writer.submit("a") == "id-a"
    assert seen == [(["a"], ["id-a"])]  # already enqueued when submit returned
    writer.close()


def test_close_drains_what_is_pending_then_refuses_new_items():
    write = Recorder()
    writer = GroupCommit(write, idle_s=5)
    results, threads = submit_all(writer, ["a"])
    assert write.entered.wait(5)
    more, others = submit_all(writer, ["b", "c"])
    wait_pending(writer, 2)
    closer = threading.Thread(target=writer.close)
    closer.start()
    write.gate.set()
    closer.join(5)
    for thread in threads + others:
        thread.join(5)
    assert not closer.is_alive()
    assert sorted(write.stored) == ["a", "b", "c"] and more == {"b": "id-b", "c": "id-c"}
    with pytest.raises(Closed):
        writer.submit("late")


def test_an_idle_writer_stops_and_runs_its_idle_hook_then_starts_again_on_demand():
    write = Recorder()
    write.gate.set()
    idled = threading.Event()
    writer = GroupCommit(write, on_idle=idled.set, idle_s=0.05)
    assert writer.submit("a") == "id-a"
    assert idled.wait(5)
    from tests.support import wait_for

    wait_for(lambda: not writer._running, message="the writer to stop")
    assert writer.submit("b") == "id-b"
    writer.close()


GEVENT_SCRIPT = textwrap.dedent("""
    from gevent import monkey
    monkey.patch_all()
    import threading, time, gevent
    from gevent.monkey import get_original
    from runtime.group_commit import GroupCommit

    native_sleep = get_original("time", "sleep")
    hub_thread = get_original("threading", "get_ident")()
    ticks, during = [], []

    def write(items):
        # a slow commit (or SQLite's busy handler): blocks its OS thread for real
        during.append(get_original("threading", "get_ident")() != hub_thread)
        start = len(ticks)
        native_sleep(0.3)
        during.append(len(ticks) > start)  # the event loop kept running meanwhile
        return [i * 10 for i in items]

    def ticker():
        while True:
            ticks.append(1)
            gevent.sleep(0.01)

    gevent.spawn(ticker)
    writer = GroupCommit(write, idle_s=0.2)
    jobs = [gevent.spawn(writer.submit, i) for i in range(20)]
    gevent.joinall(jobs, timeout=10)
    print(sorted(j.value for j in jobs) == [i * 10 for i in range(20)], all(during), len(during) // 2 < 20)
    writer.close()
""")


def test_under_gevent_the_write_runs_on_a_native_thread_and_the_event_loop_keeps_running():
    out = subprocess.run([sys.executable, "-c", GEVENT_SCRIPT], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    # every caller got its own result; each write ran off the hub's thread while greenlets ticked;
    # the 20 callers shared fewer than 20 commits
    assert out.stdout.split() == ["True", "True", "True"], out.stdout + out.stderr[-2000:]
