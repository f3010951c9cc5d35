"""SVG and PNG: hand the diagram text to a real renderer (Mermaid's CLI or Graphviz).

Drawing is done by the tools that define the syntax, so what deployer shows is exactly what GitHub
(Mermaid) or Graphviz users will see, and a syntax error cannot hide. Neither tool is a Python
dependency: `mmdc` (npm @mermaid-js/mermaid-cli) drives a headless Chromium through puppeteer, and we
point it at the system's Chromium instead of letting npm download one; `dot` comes from Graphviz.
When a tool is missing the command stops with exit 3 (PrerequisiteError) and says how to install it.

Where tools are looked up, in order: `DEPLOYER_MMDC` (a path), `mmdc` on PATH, then the project-local
prefix `.tools/` (`DEPLOYER_TOOLS` overrides its location) that scripts/test-tools.sh installs into.
Chromium: `PUPPETEER_EXECUTABLE_PATH`, then chromium / chromium-browser / google-chrome on PATH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from deployer.errors import DeployerError, PrerequisiteError

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu"]
MMDC_HINT = ("install the Mermaid CLI: `PUPPETEER_SKIP_DOWNLOAD=1 npm install --prefix .tools "
             "@mermaid-js/mermaid-cli` (or run scripts/test-tools.sh), or use --format mermaid and let GitHub "
             "or mermaid.live draw it")
CHROMIUM_HINT = "install Chromium (`apt-get install chromium`) or set PUPPETEER_EXECUTABLE_PATH to a Chrome binary"
DOT_HINT = "install Graphviz (`apt-get install graphviz`, `brew install graphviz`), or use --format dot"


def tools_dir() -> Path:
    return Path(os.environ.get("DEPLOYER_TOOLS") or ROOT / ".tools")


def find_mmdc() -> str | None:
    if os.environ.get("DEPLOYER_MMDC"):
        return os.environ["DEPLOYER_MMDC"]
    local = tools_dir() / "node_modules" / ".bin" / "mmdc"
    return shutil.which("mmdc") or (str(local) if local.is_file() else None)


def find_chromium() -> str | None:
    if os.environ.get("PUPPETEER_EXECUTABLE_PATH"):
        return os.environ["PUPPETEER_EXECUTABLE_PATH"]
    return next((found for name in ("chromium", "chromium-browser", "google-chrome")
                 if (found := shutil.which(name))), None)


def find_dot() -> str | None:
    return shutil.which("dot")


def mermaid_ready() -> bool:
    return bool(find_mmdc() and find_chromium())


def render_mermaid(text: str, fmt: str) -> bytes:
    """One Mermaid diagram as svg or png bytes."""
    with tempfile.TemporaryDirectory(prefix="deployer-graph-") as tmp:
        source = Path(tmp) / "diagram.mmd"
        source.write_text(text, encoding="utf-8")
        target = Path(tmp) / f"diagram.{fmt}"
        run_mmdc(source, target)
        return target.read_bytes()


def run_mmdc(source: Path, target: Path, timeout: float = 300) -> None:
    """Run `mmdc` on a .mmd or .md file (a Markdown file renders all its diagrams in one browser)."""
    mmdc = find_mmdc()
    if not mmdc:
        raise PrerequisiteError("rendering Mermaid needs the Mermaid CLI (mmdc), which was not found", hint=MMDC_HINT)
    chromium = find_chromium()
    if not chromium:
        raise PrerequisiteError("the Mermaid CLI needs Chromium, which was not found", hint=CHROMIUM_HINT)
    config = target.parent / f".{target.name}.puppeteer.json"
    config.write_text(json.dumps({"executablePath": chromium, "args": CHROMIUM_ARGS}))
    try:
        command = [mmdc, "-q", "-p", str(config), "-b", "white", "-i", str(source), "-o", str(target)]
        _run(command, "mmdc", timeout)
    finally:
        config.unlink(missing_ok=True)


def render_dot(text: str, fmt: str, timeout: float = 120) -> bytes:
    """One DOT graph as svg or png bytes, drawn by Graphviz."""
    dot = find_dot()
    if not dot:
        raise PrerequisiteError("rendering DOT needs Graphviz (the `dot` command), which was not found", hint=DOT_HINT)
    return _run([dot, f"-T{fmt}"], "dot", timeout, stdin=text.encode("utf-8"))


def _run(command: list[str], tool: str, timeout: float, stdin: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(command, input=stdin, capture_output=True, timeout=timeout)
    except FileNotFoundError as exc:
        raise PrerequisiteError(f"{tool} could not be started: {exc}",
                                hint=MMDC_HINT if tool == "mmdc" else DOT_HINT) from exc
    except subprocess.TimeoutExpired as exc:
        raise DeployerError(f"{tool} did not finish within {timeout:.0f} s") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).decode("utf-8", "replace").strip().splitlines()
        raise DeployerError(f"{tool} failed (exit {done.returncode}): " + " | ".join(detail[:6]),
                            hint="run with --format mermaid or --format dot to see the text it was given")
    return done.stdout
