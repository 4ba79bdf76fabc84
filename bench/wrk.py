"""Run wrk (Debian's package) over a list of URLs and parse its report."""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

LUA = r"""
local paths = {}
local bodies = {}
local i = 0
local stride = 1
local counter = 0
function setup(thread)  -- each wrk thread takes every stride-th entry from its own offset: no two send the same
  thread:set("id", counter)
  counter = counter + 1
end
local xff = false
function init(args)
  stride = tonumber(args[3] or "1")
  xff = args[4] == "xff"
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  if args[2] ~= "-" then for line in io.lines(args[2]) do bodies[#bodies + 1] = line end end
end
request = function()
  local k = (i * stride + (id or 0)) % #paths + 1
  i = i + 1
  local headers = {}
  if xff then  -- one client address per entry, as many different browsers behind the proxy
    headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.floor(k / 65536) % 256,
                                               math.floor(k / 256) % 256, k % 256)
  end
  if #bodies > 0 then
    headers["Content-Type"] = "application/json"
    return wrk.format("POST", paths[k], headers, bodies[k])
  end
  return wrk.format("GET", paths[k], headers)
end
"""


def available() -> bool:
    return shutil.which("wrk") is not None


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run(base_url: str, paths: list[str], *, threads: int = 2, connections: int = 32, seconds: int = 10,
        bodies: list[str] | None = None, unique_ip: bool = False) -> dict:
    """GET each path in turn; with `bodies` (one JSON line per path) POST them instead. Each wrk thread
    takes every `threads`-th entry from its own offset; the list wraps, so give more entries than requests.
    `unique_ip` sends X-Forwarded-For 10.a.b.c derived from the entry's index (per-address limits)."""
    tmp = Path(tempfile.mkdtemp(prefix="wrk-"))
    (tmp / "paths.txt").write_text("\n".join(paths) + "\n")
    extra = ["-", str(threads), "xff" if unique_ip else "-"]
    if bodies is not None:
        (tmp / "bodies.txt").write_text("\n".join(bodies) + "\n")
        extra[0] = str(tmp / "bodies.txt")
    (tmp / "script.lua").write_text(LUA)
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
                          "-s", str(tmp / "script.lua"), base_url, "--", str(tmp / "paths.txt"), *extra],
                         capture_output=True, text=True, timeout=seconds + 60).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "raw": out}
    total = re.search(r"(\d+) requests in", out)
    result["requests"] = int(total.group(1)) if total else None
    for pct in ("50", "90", "99"):
        match = re.search(rf"\s{pct}(?:\.000)?%\s+([\d.]+\w+)", out)
        if match:
            result[f"p{pct}_ms"] = _ms(match.group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    result["errors"] = int(non2xx.group(1)) if non2xx else 0
    return result
