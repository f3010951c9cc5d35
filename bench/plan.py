"""Benchmark of `deployer plan` (aws, gcp, azure) on synthetic blueprints of 10, 100 and 500 functions.

Each function has an HTTP route, consumes its own queue and writes its own table (the shape issue 3
asks for). Every size is planned in a fresh subprocess (as users run it); wall time and the child's
peak RSS and CPU time (resource.getrusage(RUSAGE_CHILDREN), measured per size in a forked runner; CPU
time is the fairer number when other processes share the machine) are printed as a
table and written to bench/results/plan.json. The first run of a size packages every function (cold);
the second finds every zip already built (warm: unchanged code served from the cache).

When Serverless Framework v3 is installed under bench/.node (`npm install --prefix bench/.node
serverless@3`, done by `--install-serverless`), the same app is written as a serverless.yml and
`serverless package` is timed side by side.

Plan renders the provider's resource graph without importing Pulumi (deployer/plan.py); the ratio
columns are deployer's time and peak memory over `serverless package`'s in the same run (goal: time at
most 0.5x, memory at most 1x).

    .venv/bin/python bench/plan.py [--sizes 10,100,500] [--clouds aws,gcp,azure] [--install-serverless]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work"
RESULTS = ROOT / "bench" / "results" / "plan.json"
NODE = ROOT / "bench" / ".node"
HANDLER = '''def handle(request):\n    return {"ok": True}\n\n\ndef consume(message):\n    return None\n'''


def blueprint(n: int) -> str:
    lines = [f"name: bench{n}", "defaults: {runtime: python3.12, memory: 256, timeout: 10}",
             "clouds: {gcp: {project: bench-project}}", "stores:"]
    for i in range(n):
        lines += [f"  q{i}: {{kind: queue, retries: 3}}", f"  t{i}: {{kind: table, key: id}}"]
    lines.append("functions:")
    for i in range(n):
        lines += [f"  f{i}:", "    code: functions/f", "    handler: main.handle", f"    uses: {{t{i}: write}}",
                  "    triggers:", f"      - http: POST /f{i}", f"      - queue: q{i}", "        batch: 10"]
    return "\n".join(lines) + "\n"


def serverless_yml(n: int) -> str:
    lines = [f"service: bench{n}", "frameworkVersion: '3'",
             # Serverless v3 knows runtimes up to python3.11
             "provider: {name: aws, runtime: python3.11, architecture: arm64, region: us-east-1}",
             "package: {individually: false, patterns: ['!node_modules/**', '!.deployer/**']}", "functions:"]
    for i in range(n):
        lines += [f"  f{i}:", "    handler: functions/f/main.handle", "    events:",
                  f"      - httpApi: 'POST /f{i}'", f"      - sqs: {{arn: {{'Fn::GetAtt': [Q{i}, Arn]}}, batchSize: 10}}"]
    lines += ["resources:", "  Resources:"]
    for i in range(n):
        lines += [f"    Q{i}: {{Type: 'AWS::SQS::Queue'}}",
                  f"    T{i}: {{Type: 'AWS::DynamoDB::Table', Properties: {{BillingMode: PAY_PER_REQUEST, "
                  "AttributeDefinitions: [{AttributeName: id, AttributeType: S}], "
                  "KeySchema: [{AttributeName: id, KeyType: HASH}]}}"]
    return "\n".join(lines) + "\n"


def app_dir(n: int) -> Path:
    folder = WORK / f"app{n}"
    if not folder.exists():
        (folder / "functions" / "f").mkdir(parents=True)
        (folder / "functions" / "f" / "main.py").write_text(HANDLER)
        (folder / "deployer.yaml").write_text(blueprint(n))
        (folder / "serverless.yml").write_text(serverless_yml(n))
    return folder


def measured(command: list[str], cwd: Path, env: dict | None = None) -> dict:
    """Wall time and peak RSS of one command, run from a fresh fork so RUSAGE_CHILDREN is its own."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: run the command, report its numbers, exit
        os.close(read)
        started = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak = usage.ru_maxrss / 1024  # KiB -> MiB (Linux)
        cpu = usage.ru_utime + usage.ru_stime  # robust when other processes share the CPUs
        output = (done.stdout + done.stderr).strip().splitlines()
        failed = done.returncode or any(line.startswith("Error:") for line in output)  # sls may exit 0 on errors
        report = {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "peak_mib": round(peak, 1),
                  "exit": done.returncode or int(bool(failed)), "tail": output[-3:] if failed else []}
        os.write(write, json.dumps(report).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as fh:
        data = fh.read()
    os.waitpid(pid, 0)
    return json.loads(data)


def plan(n: int, cloud: str) -> dict:
    folder = app_dir(n)
    command = [sys.executable, "-m", "deployer.cli", "plan", "--cloud", cloud, "--json", "-f", "deployer.yaml"]
    shutil.rmtree(folder / ".deployer" / "build", ignore_errors=True)
    cold = measured(command, folder)
    warm = measured(command, folder)
    return {"functions": n, "cloud": cloud, "cold": cold, "warm": warm}


def serverless(n: int) -> dict | None:
    binary = NODE / "node_modules" / ".bin" / "serverless"
    if not binary.exists():
        return None
    folder = app_dir(n)
    return measured([str(binary), "package", "--stage", "dev"], folder, env={"SLS_TELEMETRY_DISABLED": "1",
                    "SLS_NOTIFICATIONS_MODE": "off", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"})


def install_serverless() -> None:
    NODE.mkdir(parents=True, exist_ok=True)
    subprocess.run(["npm", "install", "--silent", "--prefix", str(NODE), "serverless@3"], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,500")
    parser.add_argument("--clouds", default="aws,gcp,azure")
    parser.add_argument("--install-serverless", action="store_true")
    args = parser.parse_args()
    if args.install_serverless:
        install_serverless()
    rows = []
    header()
    for n in [int(s) for s in args.sizes.split(",")]:
        sls = serverless(n)
        for cloud in args.clouds.split(","):
            row = {**plan(n, cloud), "serverless": sls}
            rows.append(row)
            print_row(row)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"python": sys.version.split()[0], "cpus": os.cpu_count(), "rows": rows}, indent=2))
    print(f"written {RESULTS.relative_to(ROOT)}")


def header() -> None:
    print("wall seconds, CPU seconds (the fairer number on a shared machine) and peak memory; ratios over "
          "`serverless package` in the same run")
    print(f"{'functions':>9} | {'cloud':>5} | {'plan cold s':>11} | {'plan warm s':>11} | {'warm cpu s':>10} | "
          f"{'peak MiB':>8} | {'sls s':>6} | {'sls cpu s':>9} | {'sls MiB':>7} | {'cold/sls':>8} | {'warm/sls':>8} | "
          f"{'cpu/sls':>7} | {'MiB/sls':>7}")


def print_row(row: dict) -> None:
    sls = row["serverless"] or {}
    fmt = lambda v: "-" if v is None else f"{v}"
    ratio = lambda a, b: "-" if not b else f"{a / b:.2f}x"
    peak = max(row["cold"]["peak_mib"], row["warm"]["peak_mib"])
    print(f"{row['functions']:>9} | {row['cloud']:>5} | {row['cold']['seconds']:>11} | {row['warm']['seconds']:>11} | "
          f"{row['warm']['cpu_seconds']:>10} | {peak:>8} | {fmt(sls.get('seconds')):>6} | {fmt(sls.get('cpu_seconds')):>9} | "
          f"{fmt(sls.get('peak_mib')):>7} | {ratio(row['cold']['seconds'], sls.get('seconds')):>8} | "
          f"{ratio(row['warm']['seconds'], sls.get('seconds')):>8} | "
          f"{ratio(row['warm']['cpu_seconds'], sls.get('cpu_seconds')):>7} | {ratio(peak, sls.get('peak_mib')):>7}")
    for key, run in (("cold", row["cold"]), ("warm", row["warm"]), ("serverless", sls)):
        if run.get("exit"):
            print(f"  {key} run failed: {run['tail']}")


if __name__ == "__main__":
    main()
