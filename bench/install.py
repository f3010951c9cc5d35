"""Benchmark of what installing deployer costs, and of vendoring a function's dependencies.

1. Install: a fresh virtual environment per variant, `pip install <source>[extra]` (not editable, so
   deployer itself counts), timed; then the environment's size on disk (du, bytes). Variants: the core
   (`deployer`: validate, plan, graph, eject, the local cloud), `deployer[aws]`, `deployer[all]` (--all), and
   the full install of BEFORE (the commit before the extras existed, when every user got every SDK),
   built from `git archive`. pip's download cache is whatever this machine has (warm here: it measures
   installing, not downloading; say --cold-pip to give pip an empty cache). Goal: the core under 80 MB.
0. Noise: the lines `pip install -q -e .` (the demo's install step) prints for BEFORE and for now
   (setuptools' license deprecation and editable-install notices; goal: none).
2. Vendoring: a function with `Pillow` and `requests` (pinned, see PINS) packaged for Lambda arm64
   python3.12 by deployer with uv and with pip, each in a fresh process: *cold* (empty deployer cache and
   an empty uv/pip cache: everything downloaded), *installer cache* (empty deployer cache, warm uv/pip
   cache: a changed requirement), *cached* (the deployer cache holds it: an unchanged one). Beside them,
   `sam build` of the same function (template.yaml, arm64, python3.12) when SAM is installed in
   bench/.work/sam (`--install-sam` does `pip install aws-sam-cli` there): cold (no pip cache, no
   .aws-sam) and cached (`sam build --cached` again). SAM builds natively here, without a container,
   and needs python3.12 on PATH (pyenv's is found).

Prints a table and writes bench/results/install.json.
Sections not rerun (--skip-*) keep their last results in the JSON.
Run: .venv/bin/python bench/install.py [--skip-noise] [--skip-install] [--skip-vendor] [--install-sam] [--before REF]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / ".work" / "install"
RESULTS = ROOT / "bench" / "results" / "install.json"
BEFORE = "0b59e38"  # main before the extras: pulumi, pulumi-aws, -gcp and -azure-native for everyone
PINS = "Pillow==11.3.0\nrequests==2.32.5\n"
GOAL_MB = 80


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def install(name: str, source: str, cold_pip: bool) -> dict:
    venv = WORK / f"venv-{name}"
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    if cold_pip:
        env["PIP_CACHE_DIR"] = tempfile.mkdtemp(prefix="pipcache-", dir=WORK)
    before = du(venv)
    start = time.perf_counter()
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", source],
                          capture_output=True, text=True, env=env)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{name}: pip install {source} failed:\n{done.stderr[-3000:]}")
    size = du(venv)
    return {"variant": name, "source": source, "seconds": round(took, 1), "venv_bytes": size,
            "venv_mb": round(size / 1e6, 1), "empty_venv_mb": round(before / 1e6, 1),
            "added_mb": round((size - before) / 1e6, 1)}


def noise(name: str, source: str) -> dict:
    """What `pip install -q -e <source>` (the demo's install step) prints, in a fresh venv, without the
    dependencies (they print nothing under -q): the lines a user sees, less this machine's pip.conf
    complaints about its missing local indexes (WARNING: Location ... is ignored)."""
    venv = WORK / f"noise-{name.split()[0]}"
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--upgrade", "pip"],
                   capture_output=True, check=True)  # as scripts/demo.sh does (pip 25+ shows backend warnings)
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "-e", source],
                          capture_output=True, text=True)
    lines = [ln for ln in (done.stdout + done.stderr).splitlines()
             if ln.strip() and not ln.startswith("WARNING: Location '")]
    shutil.rmtree(venv, ignore_errors=True)
    notices = [ln.split("Warning: ", 1)[1].strip() for ln in lines if "Warning: " in ln]
    return {"variant": name, "lines": len(lines), "deprecations": sum("deprecat" in ln.lower() for ln in notices),
            "notices": sorted(set(notices))}


def before_tree(ref: str) -> Path:
    folder = WORK / f"before-{ref}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def installs(ref: str, cold_pip: bool, every: bool, report: dict) -> list[dict]:
    """One row per variant, saved after each (a full install takes minutes on a busy machine)."""
    rows = report.setdefault("install", [])
    variants = [("deployer (core)", f"{ROOT}"), ("deployer[aws]", f"{ROOT}[aws]")]
    variants += [("deployer[all]", f"{ROOT}[all]")] if every else []
    variants += [(f"before ({ref}) full", str(before_tree(ref)))]
    for name, source in variants:
        rows.append(install(name, source, cold_pip))
        save(report)
    return rows


def save(report: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")


# ------------------------------------------------------------------------------------------ vendoring

VENDOR = """
import json, sys, time
from deployer import packaging
from deployer.blueprint.load import load_blueprint
from deployer import providers
bp = load_blueprint(sys.argv[1])
start = time.perf_counter()
art = providers.get("aws").package(bp, "fn")
print(json.dumps({"seconds": time.perf_counter() - start, "zip_bytes": art.size, "files": art.meta["files"]}))
"""


def function_app(folder: Path) -> Path:
    code = folder / "fn"
    code.mkdir(parents=True, exist_ok=True)
    (code / "app.py").write_text("import PIL, requests\n\n\ndef handler(event, context=None):\n"
                                 "    return {'pil': PIL.__version__, 'requests': requests.__version__}\n")
    (code / "requirements.txt").write_text(PINS)
    (folder / "deployer.yaml").write_text(
        "name: vendor\nclouds: {aws: {architecture: arm64}}\n"
        "functions: {fn: {code: fn, handler: app.handler, runtime: python3.12, triggers: [{http: GET /}]}}\n")
    (folder / "template.yaml").write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\nResources:\n"
        "  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: fn/\n"
        "      Handler: app.handler\n      Runtime: python3.12\n      Architectures: [arm64]\n")
    return folder / "deployer.yaml"


def vendor_run(blueprint: Path, installer: str, cache: Path, tool_cache: Path) -> dict:
    env = {**os.environ, "DEPLOYER_INSTALLER": installer, "DEPLOYER_CACHE": str(cache),
           "UV_CACHE_DIR": str(tool_cache), "PIP_CACHE_DIR": str(tool_cache)}
    shutil.rmtree(blueprint.parent / ".deployer", ignore_errors=True)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", VENDOR, str(blueprint)], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"vendoring with {installer} failed:\n{done.stderr[-3000:]}")
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "wall": round(wall, 2)}


def vendoring() -> list[dict]:
    rows = []
    for installer in ("uv", "pip"):
        folder = WORK / f"vendor-{installer}"
        shutil.rmtree(folder, ignore_errors=True)
        blueprint = function_app(folder)
        cache, tool_cache = folder / "deployer-cache", folder / "tool-cache"
        cold = vendor_run(blueprint, installer, cache, tool_cache)
        shutil.rmtree(cache)
        warm_tool = vendor_run(blueprint, installer, cache, tool_cache)
        cached = vendor_run(blueprint, installer, cache, tool_cache)
        for label, row in (("cold", cold), ("installer cache", warm_tool), ("cached", cached)):
            rows.append({"tool": f"deployer + {installer}", "case": label, "seconds": row["wall"],
                         "zip_mb": round(row["zip_bytes"] / 1e6, 2), "files": row["files"]})
    return rows + sam_build()


def sam_build() -> list[dict]:
    sam = ROOT / "bench" / ".work" / "sam" / "bin" / "sam"
    if not sam.exists():
        return [{"tool": "sam build", "case": "not run", "note": "SAM is not installed in bench/.work/sam "
                                                                 "(run with --install-sam)"}]
    pyenv = sorted(Path.home().glob(".pyenv/versions/3.12*/bin"))  # a pyenv shim alone may not run 3.12
    path = f"{pyenv[-1]}:{os.environ['PATH']}" if pyenv else os.environ["PATH"]
    folder = WORK / "vendor-sam"
    shutil.rmtree(folder, ignore_errors=True)
    function_app(folder)
    env = {**os.environ, "PATH": path, "PIP_CACHE_DIR": str(folder / "pip-cache"), "SAM_CLI_TELEMETRY": "0"}
    rows = []
    for label, extra in (("cold", []), ("cached", ["--cached"]), ("cached", ["--cached"])):
        start = time.perf_counter()
        done = subprocess.run([str(sam), "build", *extra], cwd=folder, capture_output=True, text=True, env=env)
        took = time.perf_counter() - start
        if done.returncode != 0:
            return rows + [{"tool": "sam build", "case": label, "note": "failed: " + " | ".join(
                (done.stdout + done.stderr).strip().splitlines()[-4:])}]
        built = folder / ".aws-sam" / "build" / "Fn"
        rows.append({"tool": "sam build", "case": label, "seconds": round(took, 2),
                     "zip_mb": round(du(built) / 1e6, 2), "files": sum(1 for p in built.rglob("*") if p.is_file()),
                     "note": "unzipped folder size"})
    return rows[:1] + rows[2:]  # the first --cached run fills SAM's cache; the second is the cached case


def install_sam() -> None:
    venv = ROOT / "bench" / ".work" / "sam"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "aws-sam-cli"], check=True)


def table(rows: list[dict], columns: list[str]) -> str:
    widths = [max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(str(r.get(c, "")).ljust(w) for c, w in zip(columns, widths)) for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-install", action="store_true")
    parser.add_argument("--skip-vendor", action="store_true")
    parser.add_argument("--skip-noise", action="store_true")
    parser.add_argument("--install-sam", action="store_true")
    parser.add_argument("--cold-pip", action="store_true", help="give pip an empty cache for the installs")
    parser.add_argument("--all", action="store_true", help="also install deployer[all]")
    parser.add_argument("--before", default=BEFORE, help="the commit whose full install is compared")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    report: dict = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}  # sections not rerun are kept
    report.update({"python": sys.version.split()[0], "machine": platform.machine(), "cpus": os.cpu_count()})
    if not args.skip_install:
        report["install"] = []
    if args.install_sam:
        install_sam()
    if not args.skip_noise:
        report["noise"] = [noise(f"before ({args.before})", str(before_tree(args.before))),
                           noise("deployer (now)", str(ROOT))]
        print(table(report["noise"], ["variant", "lines", "deprecations", "notices"]))
        print()
        save(report)
    if not args.skip_install:
        installs(args.before, args.cold_pip, args.all, report)
        print(table(report["install"], ["variant", "seconds", "venv_mb", "empty_venv_mb", "added_mb"]))
        core = next(r for r in report["install"] if r["variant"] == "deployer (core)")
        print(f"core: {core['venv_mb']} MB (goal < {GOAL_MB} MB: {'met' if core['venv_mb'] < GOAL_MB else 'NOT met'})\n")
    if not args.skip_vendor:
        report["vendor"] = vendoring()
        print(table(report["vendor"], ["tool", "case", "seconds", "zip_mb", "files", "note"]))
    save(report)
    print(f"written {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
