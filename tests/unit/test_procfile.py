"""The Procfiles' worker lines together consume every queue an actor is declared on, and nothing is run twice."""
import re

import pytest

from tests.support import ROOT
from workers import registry


def worker_queues(procfile: str) -> dict[str, set[str]]:
    lines = {}
    for line in (ROOT / procfile).read_text().splitlines():
        name, _, command = line.partition(":")
        if "dramatiq workers.main" in command:
            match = re.search(r"--queues ((?:[\w.]+ ?)+)", command)
            lines[name] = set(match.group(1).split()) if match else {"*"}
    return lines


@pytest.mark.parametrize("procfile", ["Procfile", "Procfile.dev"])
def test_every_actor_queue_has_exactly_one_worker_line(procfile):
    lines = worker_queues(procfile)
    assert set(lines) == {"worker", "sync"}, lines
    declared = {spec.queue_name for spec in registry.specs().values()}
    consumed = [queue for queues in lines.values() for queue in queues]
    assert sorted(consumed) == sorted(set(consumed)), "a queue is consumed by two lines"
    assert declared <= set(consumed), f"no worker consumes {declared - set(consumed)}"
    assert lines["sync"] == {"sync"}  # slow, budget-bound syncs never hold the onboarding threads


def gunicorn_lines(procfile: str) -> dict[str, str]:
    lines = {}
    for line in (ROOT / procfile).read_text().splitlines():
        name, _, command = line.partition(":")
        if "gunicorn " in command:
            lines[name] = command[command.index("gunicorn "):]
    return lines


@pytest.mark.parametrize("procfile", ["Procfile", "Procfile.dev"])
def test_web_and_bridge_gunicorn_have_no_shared_control_socket(procfile):
    """Both would otherwise listen on ~/.gunicorn/gunicorn.ctl: one's control commands would reach the other."""
    lines = gunicorn_lines(procfile)
    assert set(lines) == {"web", "bridge"}
    for name, command in lines.items():
        assert "--no-control-socket" in command.split(), (name, command)


def test_this_gunicorn_knows_the_flag():
    import subprocess
    import sys
    from pathlib import Path

    help_text = subprocess.run([str(Path(sys.executable).parent / "gunicorn"), "--help"], capture_output=True,
                               text=True, timeout=60).stdout
    assert "--no-control-socket" in help_text


def test_the_venv_upgrades_setuptools_with_pip():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"pip install [^\n]*--upgrade pip setuptools", makefile)
