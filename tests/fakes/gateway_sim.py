"""The WhatsApp simulator in-process for the bridge tests: a server, a clock it can advance, the API key."""
from __future__ import annotations

import threading

from werkzeug.serving import make_server

from models.salon import Salon
from sandbox.whatsapp.app import create_app as create_sim
from sandbox.whatsapp.core import SimCore

API_KEY = "test-waha-key"


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class SimServer:
    def __init__(self, core: SimCore, api_key: str = API_KEY):
        self.core = core
        self.app = create_sim({"core": core, "api_key": api_key})
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def reload(salon_id=42) -> Salon:
    return Salon.get_by_id(salon_id)
