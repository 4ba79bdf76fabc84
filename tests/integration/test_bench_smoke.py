"""The benchmark suite runs end to end at tiny sizes (`python -m tests.bench --smoke`): every benchmark
drives the real processes and prints its row. Timing is NOT asserted (CI machines are noisy); only that
each benchmark ran, its onboardings completed exactly once, and its deliveries were stored."""
import json
import os
import shutil

import pytest

from tests.bench.__main__ import main

pytestmark = pytest.mark.integration


def test_every_benchmark_runs_at_a_tiny_size(tmp_path, capsys):
    if not shutil.which("wrk"):
        if os.environ.get("CI"):
            pytest.fail("wrk is not installed: .ci/run installs it, and CI may not skip this test")
        pytest.skip("wrk is not installed (make bench installs it)")
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
