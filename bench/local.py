"""Benchmark of the local cloud: HTTP requests/s and latency for a trivial handler at concurrency 1 and 32,
and durable queue throughput (messages/s from `send` to handler done).

    .venv/bin/python bench/local.py [--duration 10] [--messages 5000] [--rounds 3] [--install-serverless]
                                    [--against main]

Side by side with serverless-offline: when Serverless Framework v3 and serverless-offline 13 are installed
under bench/.node (`npm install --prefix bench/.node serverless@3 serverless-offline@13`, done by
`--install-serverless`, the folder bench/plan.py uses), the same Python handler is served by `serverless
offline` (an httpApi route, python3.11 runtime, no AWS account: fake credentials, 127.0.0.1 only) and
measured with the same load, interleaved round by round with the local cloud's runs so that a neighbour's
burst hits both; the table and the JSON give both and the ratio local / serverless-offline.

Against another version of deployer: `--against REF` exports that git ref (`main`: today's code) into
the temporary folder and serves the same blueprint with ITS local cloud too, measured with the same load
in the same rounds (this checkout, serverless-offline, REF, round by round), so a change shows its cost
or gain against the code it replaces on the same machine at the same moment: the JSON's `against` has
REF's figures and the ratios this / REF.

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
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
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


NODE = ROOT / "bench" / ".node"  # shared with bench/plan.py
SLS = NODE / "node_modules" / ".bin" / "serverless"
OFFLINE_PACKAGE = NODE / "node_modules" / "serverless-offline" / "package.json"
ENABLE_OFFLINE = ("serverless-offline comparison skipped: serverless@3 + serverless-offline@13 are not both "
                  "installed under bench/.node. Enable it with "
                  "`.venv/bin/python bench/local.py --install-serverless` "
                  "(npm install --prefix bench/.node serverless@3 serverless-offline@13)")
# The same handler over serverless-offline: Lambda calls handler(event, context); the wrapper passes the
# event on to the very `hello` of CODE above, whose return value (a dict without statusCode) an HTTP API
# (payload 2.0) answers as a 200 JSON body, as the local cloud does.
SERVERLESS_YML = """
service: bench
frameworkVersion: '3'
provider: {name: aws, runtime: python3.11, region: us-east-1, stage: dev}
plugins: [serverless-offline]
functions:
  hello:
    handler: offline.hello
    events: [{httpApi: 'GET /hello'}]
"""
OFFLINE_WRAPPER = '''
from fn.main import hello as _hello


def hello(event, context):
    return _hello(event)
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


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process `pid` and its live children (a local cloud and
    its workers), from /proc; 0 where there is no /proc."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def cloud_bench(url: str, pid: int, concurrency: int, duration: int) -> dict:
    """http_bench plus the CPU the local cloud (gateway and workers) spent per request: a figure the
    neighbours' load moves far less than requests per second, since it counts only this cloud's work."""
    before = tree_cpu(pid)
    result = http_bench(url, concurrency, duration)
    spent = tree_cpu(pid) - before
    return {**result, "cpu_us_per_req": round(spent / max(result["requests"], 1) * 1e6, 1)}


def install_serverless() -> None:
    NODE.mkdir(parents=True, exist_ok=True)
    subprocess.run(["npm", "install", "--silent", "--prefix", str(NODE), "serverless@3", "serverless-offline@13"],
                   check=False)


def offline_versions() -> dict | None:
    """Installed versions, or None when serverless v3 + serverless-offline 13 are not both under bench/.node."""
    sls_package = NODE / "node_modules" / "serverless" / "package.json"
    if not (SLS.exists() and OFFLINE_PACKAGE.exists() and sls_package.exists()):
        return None
    versions = {"serverless": json.loads(sls_package.read_text())["version"],
                "serverless-offline": json.loads(OFFLINE_PACKAGE.read_text())["version"]}
    if not (versions["serverless"].startswith("3.") and versions["serverless-offline"].startswith("13.")):
        return None  # serverless-offline 14 needs serverless v4 (an account); compare like with like
    return versions


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerlessOffline:
    """`serverless offline` serving CODE's `hello` on a free 127.0.0.1 port, in its own process group."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.proc: subprocess.Popen | None = None
        self.log = folder / "offline.log"
        self.url = ""

    def start(self, timeout: float = 90) -> str:
        (self.folder / "fn").mkdir(parents=True, exist_ok=True)
        (self.folder / "fn" / "main.py").write_text(CODE)
        (self.folder / "offline.py").write_text(OFFLINE_WRAPPER)
        (self.folder / "serverless.yml").write_text(SERVERLESS_YML)
        env = {**os.environ, "SLS_TELEMETRY_DISABLED": "1", "SLS_NOTIFICATIONS_MODE": "off",
               "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_REGION": "us-east-1",
               "NODE_PATH": str(NODE / "node_modules")}
        # serverless-offline spawns `python3` through a shell and puts $VIRTUAL_ENV/bin first on PATH: make that
        # the interpreter the local cloud's workers run on
        env.pop("VIRTUAL_ENV", None)
        if sys.prefix != sys.base_prefix:
            env["VIRTUAL_ENV"] = sys.prefix
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        self.python = shutil.which("python3", path=str(Path(sys.prefix) / "bin") + os.pathsep + env["PATH"])
        port = free_port()
        command = [str(SLS), "offline", "--host", "127.0.0.1", "--httpPort", str(port),
                   "--lambdaPort", str(free_port()), "--noPrependStageInUrl"]
        with open(self.log, "wb") as log:  # it logs every request: to a file, never to a pipe left unread
            self.proc = subprocess.Popen(command, cwd=self.folder, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self.url = f"http://127.0.0.1:{port}/hello"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serverless offline exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(self.url, timeout=10) as response:
                    if response.status == 200 and json.loads(response.read()) == {"hello": "world"}:
                        return self.url
            except (OSError, ValueError):
                pass
            time.sleep(0.25)
        raise RuntimeError(f"serverless offline did not answer 200 on {self.url} within {timeout:.0f}s:\n"
                           f"{self.tail()}")

    def tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:  # SIGTERM: serverless-offline stops its handler processes; then the whole group, to be sure
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        finally:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()


class Against:
    """The local cloud of another git ref (exported with `git archive`) serving the same blueprint, as a
    daemon of its own (`python -m providers.local.server` from the exported tree), in its own group."""

    def __init__(self, ref: str, folder: Path):
        self.ref, self.folder = ref, folder
        self.code = folder / "code"
        self.proc: subprocess.Popen | None = None
        self.log = folder / "cloud.log"

    def start(self, timeout: float = 90) -> str:
        self.code.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", self.ref], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(self.code)], input=archive.stdout, check=True)
        self.commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", self.ref], capture_output=True,
                                     text=True, check=True).stdout.strip()
        (self.folder / "fn").mkdir()
        (self.folder / "fn" / "main.py").write_text(CODE)
        (self.folder / "deployer.yaml").write_text(BLUEPRINT)
        self.state = self.folder / ".deployer" / "local" / "dev"
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(self.code)}
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "providers.local.server", "--file",
                                          str(self.folder / "deployer.yaml"), "--port", str(port)],
                                         cwd=self.code, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the local cloud of {self.ref} exited:\n{self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(url + "/_deployer/health", timeout=10) as response:
                    if response.status == 200:
                        return url + "/hello"
            except OSError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"the local cloud of {self.ref} did not answer within {timeout:.0f}s")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)  # its graceful stop ends its workers
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def median(values: list[float]) -> float:
    values = sorted(values)
    return values[len(values) // 2] if values else 0.0


def median_run(runs: list[dict]) -> dict:
    runs = sorted(runs, key=lambda r: r["rps"])
    return {**runs[len(runs) // 2], "runs": runs}


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


def compare_against(against: Against, results: dict, ours: dict[str, list[dict]], rounds: dict[str, list[dict]],
                    queues: list[dict]) -> dict:
    """REF's medians and this / REF ratios (per round too: the rounds were interleaved, in this order)."""
    out: dict = {"ref": against.ref, "commit": against.commit, "http": {}, "ratio": {}}
    for name, runs in rounds.items():
        out["http"][name] = base = median_run(runs)
        out["ratio"][name] = {
            "rps": round(results["http"][name]["rps"] / max(base["rps"], 0.1), 2),
            "rps_per_round": [round(a["rps"] / max(b["rps"], 0.1), 2) for a, b in zip(ours[name], runs)],
            "p99_ms": round(results["http"][name]["p99_ms"] / max(base["p99_ms"], 0.001), 3),
            "cpu_us_per_req": round(median([r["cpu_us_per_req"] for r in ours[name]])
                                    / max(median([r["cpu_us_per_req"] for r in runs]), 0.1), 3),
            "cpu_per_round": [round(a["cpu_us_per_req"] / max(b["cpu_us_per_req"], 0.1), 2)
                              for a, b in zip(ours[name], runs)]}
    queues = sorted(queues, key=lambda r: r["msgs_per_s"])
    out["queue"] = {**queues[len(queues) // 2], "runs": queues}
    out["ratio"]["queue"] = round(results["queue"]["msgs_per_s"] / max(out["queue"]["msgs_per_s"], 0.1), 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3, help="runs per measurement; the median run is reported")
    parser.add_argument("--install-serverless", action="store_true",
                        help="npm install serverless@3 serverless-offline@13 into bench/.node first")
    parser.add_argument("--no-offline", action="store_true", help="skip the serverless-offline comparison")
    parser.add_argument("--against", metavar="REF", help="also measure the local cloud of this git ref (e.g. main)")
    args = parser.parse_args()
    if args.install_serverless:
        install_serverless()
    from deployer.blueprint.load import load_blueprint
    from providers.local.lifecycle import LocalEngine

    versions = None if args.no_offline else offline_versions()
    offline: dict = {"installed": False, "enable": ENABLE_OFFLINE} if versions is None else {**versions}
    results: dict = {"http": {}, "queue": None}
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "fn").mkdir()
        (Path(tmp) / "fn" / "main.py").write_text(CODE)
        (Path(tmp) / "deployer.yaml").write_text(BLUEPRINT)
        engine = LocalEngine(load_blueprint(Path(tmp) / "deployer.yaml"))
        url = engine.up().outputs["api_url"] + "/hello"
        pid = json.loads((engine.state / "cloud.json").read_text())["pid"]
        sls = ServerlessOffline(Path(tmp) / "offline") if versions else None
        against = Against(args.against, Path(tmp) / "against") if args.against else None
        try:
            base_url = against.start() if against else None
            sls_url = None
            if sls:
                try:
                    sls_url = sls.start()
                    offline["python"] = sls.python
                except (OSError, RuntimeError) as exc:
                    offline["error"] = str(exc)
                    sls.stop()
            http_bench(url, 32, 2)  # warm up: the pool grows to its size
            if sls_url:
                http_bench(sls_url, 32, 2)  # the same for serverless-offline (one python process per connection)
            if base_url:
                http_bench(base_url, 32, 2)
            rounds: dict[str, list[tuple[dict, dict | None]]] = {}
            base_rounds: dict[str, list[dict]] = {}
            for c in (1, 32):
                # interleaved, round by round: a neighbour's burst hits every side alike
                rounds[f"c{c}"], base_rounds[f"c{c}"] = [], []
                for n in range(args.rounds):
                    if base_url and n % 2:  # every other round REF goes first: no side always follows the other
                        base_rounds[f"c{c}"].append(cloud_bench(base_url, against.proc.pid, c, args.duration))
                    rounds[f"c{c}"].append((cloud_bench(url, pid, c, args.duration),
                                            http_bench(sls_url, c, args.duration) if sls_url else None))
                    if base_url and not n % 2:
                        base_rounds[f"c{c}"].append(cloud_bench(base_url, against.proc.pid, c, args.duration))
            if sls:
                sls.stop()
            for name, pairs in rounds.items():
                results["http"][name] = median_run([local for local, _ in pairs])
                if sls_url:
                    offline.setdefault("http", {})[name] = other = median_run([theirs for _, theirs in pairs])
                    offline.setdefault("ratio", {})[name] = {  # local / serverless-offline
                        "rps": round(results["http"][name]["rps"] / max(other["rps"], 0.1), 2),
                        "rps_per_round": [round(local["rps"] / max(theirs["rps"], 0.1), 2) for local, theirs in pairs],
                        "p99_ms": round(results["http"][name]["p99_ms"] / max(other["p99_ms"], 0.001), 3)}
            queues, base_queues = [], []
            for n in range(args.rounds):
                if against and n % 2:
                    base_queues.append(queue_bench(against.state, args.messages))
                queues.append(queue_bench(engine.state, args.messages))
                if against and not n % 2:
                    base_queues.append(queue_bench(against.state, args.messages))
            queues.sort(key=lambda r: r["msgs_per_s"])
            results["queue"] = {**queues[len(queues) // 2], "runs": queues}
            if against:
                ours = {name: [local for local, _ in pairs] for name, pairs in rounds.items()}
                results["against"] = compare_against(against, results, ours, base_rounds, base_queues)
        finally:
            if sls:
                sls.stop()
            if against:
                against.stop()
            engine.destroy()
    results["serverless_offline"] = offline
    results["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    print(f"median of {args.rounds} runs of {args.duration}s each (the machine is shared: see 'runs' in the JSON)")
    compare = "http" in offline
    print(f"{'test':<28}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}{'timeouts':>10}"
          + (f"{'local/sls req/s':>17}" if compare else ""))
    row = lambda label, r: (f"{label:<28}{r['rps']:>10.0f}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}"  # noqa: E731
                            f"{r['errors']:>8}{r['timeouts']:>10}")
    for name, r in results["http"].items():
        if not compare:
            print(row(f"http {name}", r))
            continue
        print(row(f"http {name} local cloud", r) + f"{offline['ratio'][name]['rps']:>16.2f}x")
        print(row(f"http {name} serverless-offline", offline["http"][name]))
    q = results["queue"]
    print(f"{'queue':<28}{q['msgs_per_s']:>10.0f} msgs/s end to end ({q['messages']} messages in {q['seconds']}s; "
          f"send alone {q['send_per_s']:.0f}/s)")
    if compare:
        print(f"serverless-offline {offline['serverless-offline']} on serverless {offline['serverless']}: the same "
              f"handler, the same load, interleaved; python {offline.get('python')}; local/sls per round: "
              + "; ".join(f"{n} {r['rps_per_round']}" for n, r in offline["ratio"].items()))
    elif "error" in offline:
        print(f"serverless-offline {offline['serverless-offline']} failed to start, no comparison:\n{offline['error']}")
    elif not args.no_offline:
        print(ENABLE_OFFLINE)
    if "against" in results:
        base = results["against"]
        for name, r in base["http"].items():
            ratio = base["ratio"][name]
            print(row(f"http {name} {args.against} ({base['commit']})", r)
                  + f"   this/{args.against} req/s {ratio['rps']:.2f}x per round {ratio['rps_per_round']}, "
                  f"p99 {ratio['p99_ms']:.2f}x; CPU per request (median) {ratio['cpu_us_per_req']:.2f}x "
                  f"per round {ratio['cpu_per_round']}")
        bq = base["queue"]
        print(f"{'queue ' + args.against:<28}{bq['msgs_per_s']:>10.0f} msgs/s end to end; this/{args.against} "
              f"{base['ratio']['queue']:.2f}x")
    out = ROOT / "bench" / "results" / "local.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
