"""Errors and diagnostics: the only way deployer reports a problem to a user.

Every problem a user can fix carries *where* (file, line, column, field path), *what* happened and,
where one helps, a *hint*. The CLI's single error boundary (`deployer.cli.app.main`) turns these into
rendered messages and exit codes; nothing else prints tracebacks (only `--debug` does).

Exit codes (design.md section 7): 0 success, 1 deployment or runtime failure, 2 bad usage or a bad
blueprint, 3 a missing prerequisite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_PREREQUISITE = 3

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Location:
    """Where in a blueprint something is: 1-based line and column, and the field path."""

    file: Path | None = None
    line: int | None = None
    column: int | None = None
    path: str = ""

    def __str__(self) -> str:
        where = str(self.file) if self.file else "<blueprint>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a blueprint, by the core or by a provider's `check`."""

    message: str
    location: Location = field(default_factory=Location)
    hint: str | None = None
    severity: Severity = "error"
    code: str = "blueprint"
    cloud: str | None = None

    def to_json(self) -> dict:
        loc = self.location
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "file": str(loc.file) if loc.file else None,
            "line": loc.line,
            "column": loc.column,
            "path": loc.path,
            "cloud": self.cloud,
        }


class DeployerError(Exception):
    """Base of every error a user sees. `exit_code` says how the process ends."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, *, hint: str | None = None, location: Location | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.location = location


class UsageError(DeployerError):
    """Bad command-line usage or a bad argument (exit 2)."""

    exit_code = EXIT_USAGE


class BlueprintError(DeployerError):
    """A blueprint with one or more error diagnostics (exit 2)."""

    exit_code = EXIT_USAGE

    def __init__(self, diagnostics: list[Diagnostic]):
        errors = [d for d in diagnostics if d.severity == "error"]
        count = len(errors)
        super().__init__(f"{count} error{'s' if count != 1 else ''} in the blueprint")
        self.diagnostics = list(diagnostics)


class PrerequisiteError(DeployerError):
    """Something the command needs is missing: the pulumi CLI, credentials (exit 3)."""

    exit_code = EXIT_PREREQUISITE


class DeploymentError(DeployerError):
    """A deployment or runtime failure (exit 1)."""

    exit_code = EXIT_FAILURE
