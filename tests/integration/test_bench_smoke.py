"""The benchmark suite runs end to end at tiny sizes (`python -m bench --smoke`): every benchmark
drives the real processes and prints its row. Timing is NOT asserted (CI machines are noisy); only that
each benchmark ran, its onboardings completed exactly once, and its deliveries were stored."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import main

pytestmark = pytest.mark.integration


def _need_wrk():
    if not shutil.which("wrk"):
        if os.environ.get("CI"):
            pytest.fail("wrk is not installed: .ci/run installs it, and CI may not skip this test")
        pytest.skip("wrk is not installed (make bench installs it)")


def test_every_benchmark_runs_at_a_tiny_size(tmp_path, capsys):
    _need_wrk()
    out = tmp_path / "bench.json"
    main(["--smoke", "--only", "1,2,3,4,5,6", "--json", str(out)])
    rows = json.loads(out.read_text())["rows"]
    failed = [r for r in rows if str(r.get("value", "")).startswith("FAILED")]
    assert failed == []
    names = " ".join(r["benchmark"] for r in rows)
    for number in ("1.", "2.", "3.", "4.", "5.", "6."):
        assert number in names
    burst = next(r for r in rows if r["benchmark"].startswith("2."))["detail"]
    assert burst["completed"] == burst["n"] and burst["callbacks_not_one"] == 0 and burst["messages_not_one"] == 0
    intake = next(r for r in rows if r["benchmark"].startswith("5.") and "detail" in r)["detail"][0]
    assert intake["acked"] == intake["sent"] and intake["stored_at_last_ack"] >= intake["acked"]
    assert "| benchmark |" in capsys.readouterr().out


def test_the_redirects_cpu_split_sees_each_part_run_once_per_redirect_and_two_yclients_calls_per_check(tmp_path):
    """`python -m bench.redirect_split --components --redis` (docs/performance/redirect.md, rounds 5 and 6) over the
    real worker and sandbox: the parts it names are the ones a redirect and a check run, as often as they run (a
    renamed or bypassed function would show 0 calls and silently drop out of the table), and every Lua script a
    redirect sends Redis is one it can name (a new or changed script would show up as an unnamed SHA)."""
    out = tmp_path / "split.json"
    subprocess.run([sys.executable, "-m", "bench.redirect_split", "-n", "6", "--components", "--redis", "--json",
                    str(out)], check=True, timeout=240, capture_output=True, cwd=Path(__file__).resolve().parents[2])
    result = json.loads(out.read_text())
    web, check = result["web_components"], result["check_components"]
    assert result["redirects"] == 6 and result["checks"] == 3
    assert {label: part["calls"] for label, part in web.items()} == {label: 1.0 for label in web}
    assert web["whole request (Flask wsgi_app)"]["ms"] >= web["handler (dispatch_request)"]["ms"] > 0
    calls = {label.strip(): part["calls"] for label, part in check.items()}
    assert calls == {"the check (check_install)": 1.0, "read + first budget slot (ic.load)": 1.0,
                     "the decision (decide: 2 YCLIENTS calls)": 1.0, "YCLIENTS client (request)": 2.0,
                     "HTTP (transport, urllib3)": 2.0, "budget (limiter.acquire)": 2.0,
                     "Redis pipelines (read, verdict)": 2.0}
    redis = result["redis_commands"]
    assert not result["redis_log_lost"] and not [name for name in redis if name.startswith("script")]
    assert {name: redis[name]["calls"] for name in ("install check gate", "YCLIENTS budget (limiter)",
                                                    "live status: set state (EVAL)", "enqueue + bell")} == {
        "install check gate": 1.0, "YCLIENTS budget (limiter)": 2.0, "live status: set state (EVAL)": 1.0,
        "enqueue + bell": 1.0}
    assert redis["Dramatiq dispatch (fetch, ack)"]["calls"] > 0 and redis["total"]["us"] > 0


def test_the_stripped_redirect_runs_without_its_parts_beside_the_real_one(tmp_path):
    """`python -m bench.redirect --stripped` (docs/performance/redirect.md, round 6): the what-if runs side by side with
    the real redirect, every request a 302 with its own salon registered, its checks answered by its own worker, and
    it really is without its parts: no timeline row for its installs (the redirect's: one each), and its worker says
    what it switched off. Run over a Unix socket (`--redis-socket`), which every process must then use. Without this,
    a what-if that silently ran the real code would read as "those parts are free"."""
    _need_wrk()
    done = subprocess.run([sys.executable, "-m", "bench.redirect", "--rounds", "1", "--seconds", "1", "--classes",
                           "gevent", "--salons", "3000", "--no-profile", "--no-floor", "--stripped",
                           "--redis-socket"],
                          check=True, timeout=300, capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2])
    result = json.loads(done.stdout)
    from bench.stripped import PARTS

    [redirect], [stripped] = result["redirect-gevent"], result["stripped-gevent"]
    verified = result["stripped_verified"]
    for run in (redirect, stripped):
        # Registered counts the requests still in flight when wrk stopped too (answered within the settling second).
        assert run["non_3xx"] == 0 and run["registered"] >= run["requests"] > 0 and not run["reused"]
    assert verified["redirect_timeline_rows"] == verified["redirect_registered"] == redirect["registered"]
    assert verified["stripped_timeline_rows"] == 0 and verified["stripped_registered"] == stripped["registered"]
    assert verified["stripped_worker_switched_off"] == list(PARTS)
    assert set(stripped["cpu_ms_per_request"]) == {"stripped-gevent", "worker-stripped", "yclients-sandbox", "redis"}
    # `--redis-socket` (round 7): every process still connected (webs, workers) reached Redis over the socket, the
    # stripped side's database 1 included.
    assert result["redis_clients"]["tcp"] == 0 and result["redis_clients"]["unix"] >= 4
