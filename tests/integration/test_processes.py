"""The real processes come up from the Procfile commands and answer their health checks."""
import os
import signal
import subprocess
import time

import pytest
import requests

from tests.support import BIN, ROOT, free_port, wait_for

pytestmark = pytest.mark.integration


def test_web_and_bridge_bind_port_from_the_environment(services, settings):
    web_port, bridge_port = free_port(), free_port()
    web = services("web", [str(BIN / "gunicorn"), "--worker-class", "gthread", "--threads", "4", "--bind",
                           f"127.0.0.1:{web_port}", "web:create_app()"], settings)
    bridge = services("bridge", [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{bridge_port}",
                                 "bridge.relay:create_app()"], settings)
    web.wait_http(f"http://127.0.0.1:{web_port}/healthz")
    bridge.wait_http(f"http://127.0.0.1:{bridge_port}/healthz")
    health = requests.get(f"http://127.0.0.1:{web_port}/marketplace/health", timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert requests.get(f"http://127.0.0.1:{bridge_port}/healthz", timeout=5).json() == {"status": "ok"}


def _descendants(root: int) -> dict[int, str]:
    """pid -> command of every process below `root` (redis-server rewrites its title, so match by tree)."""
    out = subprocess.run(["ps", "-ww", "-eo", "pid,ppid,args"], capture_output=True, text=True).stdout
    rows = [line.split(None, 2) for line in out.splitlines()[1:]]
    children: dict[int, list[tuple[int, str]]] = {}
    for pid, ppid, *args in rows:
        children.setdefault(int(ppid), []).append((int(pid), args[0] if args else ""))
    found, stack = {}, [root]
    while stack:
        for pid, args in children.get(stack.pop(), []):
            found[pid] = args
            stack.append(pid)
    return found


def _redis_servers_under(root: int) -> list[str]:
    return [args for args in _descendants(root).values() if "redis-server" in args]


def test_dev_stack_comes_up_and_ctrl_c_stops_everything(tmp_path):
    """What `make run` runs: honcho with Procfile.dev, embedded Redis on a socket under a var/ dir."""
    var = tmp_path / "var"
    var.mkdir()
    sock = str(var / "redis.sock")
    ports = {name: free_port() for name in ("WEB_PORT", "BRIDGE_PORT", "WHATSAPP_SIM_PORT", "YCLIENTS_SANDBOX_PORT")}
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "APP_ENV": "development",
           "DATABASE_URL": f"sqlite:///{var / 'aiadmin.db'}", "REDIS_URL": f"unix://{sock}?db=0",
           "REDIS_SOCKET": sock, "YCLIENTS_API_URL": f"http://127.0.0.1:{ports['YCLIENTS_SANDBOX_PORT']}",
           "WAHA_URL": f"http://127.0.0.1:{ports['WHATSAPP_SIM_PORT']}", "PYTHONUNBUFFERED": "1",
           **{k: str(v) for k, v in ports.items()}}
    subprocess.run([str(BIN / "aiadmin"), "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    log = open(tmp_path / "honcho.log", "wb")
    started = time.monotonic()
    honcho = subprocess.Popen([str(BIN / "honcho"), "-f", "Procfile.dev", "start"], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def up():
            try:
                ok = requests.get(f"http://127.0.0.1:{ports['WEB_PORT']}/marketplace/health", timeout=1)
                return ok.status_code == 200 and ok.json()["status"] == "ok" and all(
                    requests.get(f"http://127.0.0.1:{ports[k]}/healthz", timeout=1).ok
                    for k in ("BRIDGE_PORT", "WHATSAPP_SIM_PORT", "YCLIENTS_SANDBOX_PORT"))
            except requests.RequestException:
                return False

        wait_for(up, timeout=60, interval=0.25, message="the dev stack")
        assert time.monotonic() - started < 60
        assert _redis_servers_under(honcho.pid), ("embedded redis-server not running", _descendants(honcho.pid))
        stack = set(_descendants(honcho.pid))
        time.sleep(1.0)  # let the worker finish booting so its shutdown is exercised too
        honcho.send_signal(signal.SIGINT)  # what Ctrl-C sends
        honcho.wait(30)
        alive = lambda: [pid for pid in stack if os.path.exists(f"/proc/{pid}") and
                         "zombie" not in open(f"/proc/{pid}/status").read().lower()]  # noqa: E731
        wait_for(lambda: not alive(), timeout=10, message="every dev process to stop")
    finally:
        if honcho.poll() is None:
            os.killpg(honcho.pid, signal.SIGKILL)
        log.close()
    output = (tmp_path / "honcho.log").read_text(errors="replace")
    assert "Traceback" not in output, output[-4000:]
