"""Benchmark of the local cloud: HTTP requests/s and latency for a trivial handler at concurrency 1 and 32,
and durable queue throughput (messages/s from `send` to handler done).

    .venv/bin/python bench/local.py [--duration 10] [--messages 5000] [--rounds 3]

HTTP load comes from `wrk` when it is installed (apt-get install wrk), else from an asyncio httpx client
(slower: it shares the 2 cores with the server). Results are printed as a table and written to
bench/results/local.json; each figure is the median of `--rounds` runs (the JSON keeps every run), because
on a shared 2-core machine a neighbour's burst moves a single run by 2x. Everything runs for real: the daemon, uvicorn, worker processes, SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BLUEPRINT = """
name: bench
stores:
  jobs: {kind: queue, retries: 3}
functions:
  hello:
    code: fn
    handler: main.hello
    triggers: [{http: GET /hello}]
  work:
    code: fn
    handler: main.work
    triggers: [{queue: jobs, batch: 10}]
"""
CODE = '''
def hello(request):
    return {"hello": "world"}

def work(message):
    pass
'''


def parse_wrk(text: str) -> dict:
    def ms(value: str) -> float:
        number, unit = re.match(r"([\d.]+)(us|ms|s)", value).groups()
        return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    out = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))}
    for pct in ("50", "99"):
        out[f"p{pct}_ms"] = round(ms(re.search(rf"\s{pct}(?:\.000)?%\s+(\S+)", text).group(1)), 3)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    timeouts = re.search(r"timeout (\d+)", text)
    out["errors"] = int(errors.group(1)) if errors else 0
    out["timeouts"] = int(timeouts.group(1)) if timeouts else 0
    out["requests"] = int(re.search(r"(\d+) requests in", text).group(1))
    return out


def run_wrk(url: str, concurrency: int, duration: int) -> dict:
    threads = 1 if concurrency == 1 else 2
    proc = subprocess.run(["wrk", "-t", str(threads), "-c", str(concurrency), "-d", f"{duration}s", "--latency",
                           "--timeout", "2s", url], capture_output=True, text=True, check=True)
    return {"tool": "wrk", **parse_wrk(proc.stdout)}


async def _httpx_load(url: str, concurrency: int, duration: float) -> dict:
    import httpx

    latencies, errors = [], 0
    stop = time.perf_counter() + duration
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as client:
        async def user():
            nonlocal errors
            while time.perf_counter() < stop:
                t = time.perf_counter()
                r = await client.get(url)
                latencies.append(time.perf_counter() - t)
                errors += r.status_code != 200
        start = time.perf_counter()
        await asyncio.gather(*(user() for _ in range(concurrency)))
        took = time.perf_counter() - start
    latencies.sort()
    pick = lambda q: round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 3)  # noqa: E731
    return {"tool": "httpx", "rps": round(len(latencies) / took, 1), "p50_ms": pick(0.5), "p99_ms": pick(0.99),
            "errors": errors, "timeouts": 0, "requests": len(latencies)}


def http_bench(url: str, concurrency: int, duration: int) -> dict:
    if shutil.which("wrk"):
        return run_wrk(url, concurrency, duration)
    return asyncio.run(_httpx_load(url, concurrency, duration))


def queue_bench(state: Path, count: int) -> dict:
    """Send `count` messages (one durable insert each) and wait until every handler has finished."""
    import sqlite3

    os.environ["DEPLOYER_LOCAL_STATE"] = str(state)
    from deployer.runtime.clients.local import Queue

    queue = Queue("jobs", "jobs")
    conn = sqlite3.connect(state / "queues.db")
    start = time.perf_counter()
    for n in range(count):
        queue.send({"n": n})
    sent = time.perf_counter() - start
    while conn.execute("SELECT count(*) FROM messages").fetchone()[0]:
        time.sleep(0.005)
    took = time.perf_counter() - start
    return {"messages": count, "seconds": round(took, 3), "msgs_per_s": round(count / took, 1),
            "send_per_s": round(count / sent, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3, help="runs per measurement; the median run is reported")
    args = parser.parse_args()
    from deployer.blueprint.load import load_blueprint
    from providers.local.lifecycle import LocalEngine

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "fn").mkdir()
        (Path(tmp) / "fn" / "main.py").write_text(CODE)
        (Path(tmp) / "deployer.yaml").write_text(BLUEPRINT)
        engine = LocalEngine(load_blueprint(Path(tmp) / "deployer.yaml"))
        url = engine.up().outputs["api_url"] + "/hello"
        try:
            http_bench(url, 32, 2)  # warm up: the pool grows to its size
            results = {"http": {}, "queue": None}
            for c in (1, 32):
                runs = sorted((http_bench(url, c, args.duration) for _ in range(args.rounds)), key=lambda r: r["rps"])
                results["http"][f"c{c}"] = {**runs[len(runs) // 2], "runs": runs}
            queues = sorted((queue_bench(engine.state, args.messages) for _ in range(args.rounds)),
                            key=lambda r: r["msgs_per_s"])
            results["queue"] = {**queues[len(queues) // 2], "runs": queues}
        finally:
            engine.destroy()
    results["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    print(f"median of {args.rounds} runs of {args.duration}s each (the machine is shared: see 'runs' in the JSON)")
    print(f"{'test':<14}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}{'timeouts':>10}")
    for name, r in results["http"].items():
        print(f"{'http ' + name:<14}{r['rps']:>10.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{r['errors']:>8}"
              f"{r['timeouts']:>10}")
    q = results["queue"]
    print(f"{'queue':<14}{q['msgs_per_s']:>10.0f} msgs/s end to end ({q['messages']} messages in {q['seconds']}s; "
          f"send alone {q['send_per_s']:.0f}/s)")
    out = ROOT / "bench" / "results" / "local.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
