"""Layering rules of docs/contracts.md, checked on the source: import-linter's contracts in pyproject.toml,
and the Automation API behind deployer/engine.py alone."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

from conftest import ROOT


def test_import_linter_contracts_are_kept():
    lint = os.path.join(os.path.dirname(sys.executable), "lint-imports")
    done = subprocess.run([lint, "pyproject.toml"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_only_the_engine_imports_the_automation_api():
    found = []
    for path in sorted([*ROOT.glob("deployer/**/*.py"), *ROOT.glob("providers/**/*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "pulumi.automation" or n.startswith("pulumi.automation.") for n in names) or (
                    isinstance(node, ast.ImportFrom) and node.module == "pulumi"
                    and any(a.name == "automation" for a in node.names)):
                found.append(str(path.relative_to(ROOT)))
    assert sorted(set(found)) == ["deployer/engine.py"]
