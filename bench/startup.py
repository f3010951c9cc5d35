"""Startup benchmark: how fast `deployer --help` and `deployer validate` answer, and what they import.

validate runs in editors on every save and in CI on every push, so its wall time is mostly Python
start-up plus imports. This script generates a 200-function blueprint (each function with its own code
folder and handler) in a temporary folder, then measures, in fresh processes:

- the median wall time of `deployer --help` and `deployer validate -f <generated>` (REPEAT runs each);
- the modules they import, from `python -X importtime`: the heaviest top-level packages by cumulative
  import time, and whether pulumi or a cloud SDK was imported (neither may be).

Prints a table and writes bench/results/startup.json. Aim: validate of 200 functions under 0.5 s.
Run: .venv/bin/python bench/startup.py [--functions N] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "startup.json"
FORBIDDEN = ("pulumi", "pulumi_aws", "pulumi_gcp", "pulumi_azure_native", "boto3", "botocore", "google.cloud",
             "google.api_core", "azure")
AIM_SECONDS = 0.5


def generate(folder: Path, functions: int) -> Path:
    """A blueprint with `functions` functions over a few stores, every trigger kind, own code folders."""
    lines = ["name: bench", "defaults: {runtime: python3.12, memory: 256, timeout: 10}", "stores:",
             "  jobs: {kind: queue}", "  events: {kind: topic}", "  files: {kind: bucket}",
             "  items: {kind: table}", "functions:"]
    triggers = ["- http: GET /items/f{i}/{{id}}", "- queue: jobs", "- topic: events",
                "- bucket: files\n        prefix: f{i}/", "- schedule: \"{m} 3 * * *\"\n        timezone: Europe/Paris"]
    for i in range(functions):
        code = folder / "functions" / f"f{i}"
        code.mkdir(parents=True)
        (code / "main.py").write_text(f'"""Function {i}."""\n\n\ndef handle(event):\n    return {{"n": {i}}}\n')
        trigger = triggers[i % len(triggers)].format(i=i, m=i % 60)
        lines += [f"  f{i}:", f"    code: functions/f{i}", "    handler: main.handle",
                  "    uses: {items: read-write, events: publish}", "    env: {INDEX: \"%d\"}" % i,
                  "    triggers:", f"      {trigger}"]
    path = folder / "deployer.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def wall(args: list[str], repeat: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "deployer.cli", *args], capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if result.returncode != 0:
            raise SystemExit(f"deployer {' '.join(args)} failed:\n{result.stderr}")
    return statistics.median(times), times


def in_process(blueprint: Path, repeat: int) -> dict:
    """Median time of load_blueprint alone (parse + model + checks), imports excluded, in one process."""
    probe = ("import statistics, sys, time\n"
             "t0 = time.perf_counter()\n"
             "from deployer.blueprint.load import load_blueprint\n"
             "imported = time.perf_counter() - t0\n"
             "times = []\n"
             f"for _ in range({repeat}):\n"
             "    t = time.perf_counter(); load_blueprint(sys.argv[1]); times.append(time.perf_counter() - t)\n"
             "print(imported, statistics.median(times))\n")
    result = subprocess.run([sys.executable, "-c", probe, str(blueprint)], capture_output=True, text=True, check=True)
    imported, median = (float(x) for x in result.stdout.split())
    return {"import_blueprint_package_s": round(imported, 3), "load_blueprint_median_s": round(median, 3)}


def imports(args: list[str]) -> dict:
    """Cumulative import time per top-level package (microseconds) and the forbidden ones imported."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    result = subprocess.run([sys.executable, "-m", "deployer.cli", *args], capture_output=True, text=True, env=env)
    top: dict[str, int] = {}
    seen: list[str] = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line or "cumulative" in line:
            continue
        _, cumulative, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
        seen.append(name)
        if not name.startswith(" ") and "." not in name.strip():
            top[name.strip()] = max(top.get(name.strip(), 0), int(cumulative))
    heavy = sorted(top.items(), key=lambda kv: -kv[1])[:12]
    names = [n.strip() for n in seen]
    bad = sorted({n for n in names for f in FORBIDDEN if n == f or n.startswith(f + ".")})
    return {"modules": len(names), "heaviest": [{"module": n, "ms": round(us / 1000, 1)} for n, us in heavy],
            "forbidden_imported": bad}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=7)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        blueprint = generate(Path(tmp), opts.functions)
        runs = {"help": ["--help"], "validate": ["validate", "-f", str(blueprint)]}
        report = {"python": platform.python_version(), "functions": opts.functions, "repeat": opts.repeat,
                  "aim_validate_s": AIM_SECONDS, "commands": {}}
        for name, args in runs.items():
            median, times = wall(args, opts.repeat)
            report["commands"][name] = {"median_s": round(median, 3), "min_s": round(min(times), 3),
                                        "max_s": round(max(times), 3), **imports(args)}
        report["in_process"] = in_process(blueprint, opts.repeat)
        report["load_average"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    _print(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {RESULTS}")
    bad = any(c["forbidden_imported"] for c in report["commands"].values())
    return 1 if bad else 0


def _print(report: dict) -> None:
    print(f"deployer startup, Python {report['python']}, {report['functions']} functions, "
          f"median of {report['repeat']} runs")
    print(f"{'command':<10} {'median s':>9} {'min s':>7} {'max s':>7} {'modules':>8}  pulumi/cloud SDK imported")
    for name, c in report["commands"].items():
        print(f"{name:<10} {c['median_s']:>9.3f} {c['min_s']:>7.3f} {c['max_s']:>7.3f} {c['modules']:>8}  "
              f"{', '.join(c['forbidden_imported']) or 'none'}")
    ip = report["in_process"]
    print(f"in process: importing the blueprint package {ip['import_blueprint_package_s']:.3f} s, "
          f"load_blueprint (parse, model, checks) {ip['load_blueprint_median_s']:.3f} s; "
          f"load average {report['load_average']}")
    verdict = "meets" if report["commands"]["validate"]["median_s"] < report["aim_validate_s"] else "misses"
    print(f"validate {verdict} the aim of {report['aim_validate_s']} s")
    for name, c in report["commands"].items():
        print(f"\nheaviest imports ({name}, cumulative ms): "
              + ", ".join(f"{h['module']} {h['ms']}" for h in c["heaviest"]))


if __name__ == "__main__":
    sys.exit(main())
