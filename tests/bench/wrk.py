"""Run wrk (Debian's package) over a list of URLs and parse its report."""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

LUA = r"""
local paths = {}
local i = 0
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
end
request = function()
  i = i + 1
  if i > #paths then i = 1 end
  return wrk.format("GET", paths[i])
end
"""


def available() -> bool:
    return shutil.which("wrk") is not None


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run(base_url: str, paths: list[str], *, threads: int = 2, connections: int = 32, seconds: int = 10) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="wrk-"))
    (tmp / "paths.txt").write_text("\n".join(paths) + "\n")
    (tmp / "script.lua").write_text(LUA)
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
                          "-s", str(tmp / "script.lua"), base_url, "--", str(tmp / "paths.txt")],
                         capture_output=True, text=True, timeout=seconds + 60).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "raw": out}
    for pct in ("50", "90", "99"):
        match = re.search(rf"\s{pct}(?:\.000)?%\s+([\d.]+\w+)", out)
        if match:
            result[f"p{pct}_ms"] = _ms(match.group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    result["errors"] = int(non2xx.group(1)) if non2xx else 0
    return result
