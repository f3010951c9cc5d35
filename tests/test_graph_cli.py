"""`deployer graph` as users run it: formats, output files, renderers and every error's exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import GOLDEN, run_cli
from deployer.graph import render

ORDERS = Path(__file__).resolve().parent.parent / "blueprints" / "orders" / "deployer.yaml"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def no_renderers(tmp_path: Path) -> dict:
    """An environment where neither mmdc, Chromium nor dot can be found (PATH holds none of them)."""
    empty = tmp_path / "empty-bin"
    empty.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("DEPLOYER_MMDC", "PUPPETEER_EXECUTABLE_PATH")}
    return {**env, "PATH": str(empty), "DEPLOYER_TOOLS": str(tmp_path / "no-tools")}


def run(*args, env=None):
    """run_cli, or with exactly `env` (run_cli merges into os.environ, so it cannot remove a variable)."""
    if env is None:
        return run_cli(*args)
    return subprocess.run([sys.executable, "-m", "deployer.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_mermaid_on_stdout_by_default():
    done = run("graph", "-f", str(ORDERS), "--cloud", "aws", "--stage", "prod")
    assert done.returncode == 0, done.stderr
    dev = (GOLDEN / "graph/orders/flowchart-aws.mmd").read_text()  # the reviewed chart, whose title names dev
    assert 'title: "orders (dev) on aws"' in dev
    assert done.stdout == dev.replace('title: "orders (dev) on aws"', 'title: "orders (prod) on aws"')


def test_format_follows_the_output_suffix(tmp_path):
    target = tmp_path / "orders.dot"
    done = run("graph", "-f", str(ORDERS), "-o", str(target))
    assert done.returncode == 0, done.stderr
    assert target.read_text() == (GOLDEN / "graph/orders/flowchart.dot").read_text()
    assert f"wrote {target}" in done.stderr


def test_sequence_on_stdout():
    done = run("graph", "-f", str(ORDERS), "--sequence", "POST /orders")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (GOLDEN / "graph/orders/sequence-post-orders.mmd").read_text()


@pytest.mark.skipif(not render.find_dot(), reason="Graphviz `dot` not found; apt-get install graphviz")
def test_svg_of_a_flowchart_through_graphviz():
    done = run("graph", "-f", str(ORDERS), "--format", "svg", "--renderer", "graphviz")
    assert done.returncode == 0, done.stderr
    assert "<svg" in done.stdout and "fulfilment dead letters" in done.stdout


@pytest.mark.skipif(not render.mermaid_ready(), reason="Mermaid CLI or Chromium not found; run scripts/test-tools.sh")
def test_png_of_a_sequence_through_mermaid(tmp_path):
    target = tmp_path / "post-orders.png"
    done = run("graph", "-f", str(ORDERS), "--sequence", "POST /orders", "-o", str(target))
    assert done.returncode == 0, done.stderr
    assert target.read_bytes().startswith(PNG_MAGIC) and target.stat().st_size > 10_000


@pytest.mark.parametrize("args, message", [
    (["--format", "svg"], "error: svg and png need Graphviz (`dot`) or the Mermaid CLI with Chromium; neither was found"),
    (["--format", "svg", "--renderer", "graphviz"],
     "error: rendering DOT needs Graphviz (the `dot` command), which was not found"),
    (["--format", "png", "--renderer", "mermaid", "-o", "x.png"],
     "error: rendering Mermaid needs the Mermaid CLI (mmdc), which was not found"),
    (["--sequence", "POST /orders", "--format", "svg"],
     "error: rendering Mermaid needs the Mermaid CLI (mmdc), which was not found"),
])
def test_missing_renderer_is_a_prerequisite_error(tmp_path, args, message):
    done = run("graph", "-f", str(ORDERS), *[str(tmp_path / a) if a == "x.png" else a for a in args],
               env=no_renderers(tmp_path))
    assert done.returncode == 3, done.stderr
    assert done.stderr.splitlines()[0] == message
    assert "hint: install" in done.stderr
    assert not (tmp_path / "x.png").exists()


def test_mmdc_without_chromium_says_so(tmp_path):
    env = {**no_renderers(tmp_path), "DEPLOYER_MMDC": "/opt/somewhere/mmdc"}
    done = run("graph", "-f", str(ORDERS), "--sequence", "api", "--format", "svg", env=env)
    assert done.returncode == 3
    assert done.stderr.splitlines() == [
        "error: the Mermaid CLI needs Chromium, which was not found",
        "  hint: install Chromium (`apt-get install chromium`) or set PUPPETEER_EXECUTABLE_PATH to a Chrome binary",
    ]


@pytest.mark.parametrize("args, lines", [
    (["--sequence", "POST /order"], [
        "error: unknown sequence entry 'POST /order'; valid entries: POST /orders, GET /orders/{id}, GET /orders, "
        "orders, notifications, events, fulfilment, api, notify, worker",
        "  hint: did you mean 'POST /orders'?"]),
    (["--format", "svgg"], ["error: unknown format 'svgg'; choose one of mermaid, dot, svg, png",
                            "  hint: did you mean 'svg'?"]),
    (["--cloud", "awz"], ["error: unknown cloud 'awz'; available: aws, azure, gcp, local",
                          "  hint: did you mean 'aws'? `deployer providers` lists them"]),
    (["--sequence", "api", "--format", "dot"], [
        "error: sequence diagrams are Mermaid only (Graphviz has no sequence diagrams)",
        "  hint: use --format mermaid, svg or png with the Mermaid renderer"]),
    (["--renderer", "inkscape"], ["error: unknown renderer 'inkscape'; choose one of auto, mermaid, graphviz"]),
])
def test_bad_usage_exits_2(args, lines):
    done = run("graph", "-f", str(ORDERS), *args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == lines
    assert done.stdout == ""


def test_output_into_a_missing_folder_exits_2_before_any_work(tmp_path):
    target = tmp_path / "missing" / "orders.svg"
    done = run("graph", "-f", str(ORDERS), "-o", str(target))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"error: cannot write {target}: the folder {target.parent} does not exist",
        f"  hint: create it first (mkdir -p {target.parent}) or choose another -o",
    ]


def test_schema_output_is_checked_like_a_diagrams(tmp_path):
    target = tmp_path / "missing" / "blueprint.schema.json"
    done = run("schema", "-o", str(target))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines() == [
        f"error: cannot write {target}: the folder {target.parent} does not exist",
        f"  hint: create it first (mkdir -p {target.parent}) or choose another -o",
    ]
    done = run("schema", "-o", str(tmp_path))
    assert done.returncode == 2 and done.stderr.splitlines() == [
        f"error: cannot write {tmp_path}: it is a folder", "  hint: give a file name, e.g. -o blueprint.schema.json"]


def test_a_written_path_is_printed_verbatim(tmp_path):
    target = tmp_path / "[b]x.mmd"  # not rich markup
    done = run("graph", "-f", str(ORDERS), "-o", str(target))
    assert done.returncode == 0 and done.stderr == f"wrote {target}\n" and "flowchart" in target.read_text()
