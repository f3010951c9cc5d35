"""`deployer init [DIR] [--template NAME]`: start a project from a template that validates.

Templates live in deployer/templates/<name>/ (a blueprint and its function code) and are copied with
`{{name}}` replaced by the application name (from DIR, made to fit the name format). init never
overwrites: when any file it would write exists, it stops (exit 2) before writing anything; if writing
fails half way, the files it wrote are removed again.
"""

from __future__ import annotations

import re
from pathlib import Path

import typer

from deployer.cli import common
from deployer.cli.app import app
from deployer.errors import UsageError

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
DEFAULT_TEMPLATE = "http-api"


def templates() -> list[str]:
    return sorted(p.name for p in TEMPLATES.iterdir() if (p / "deployer.yaml").is_file())


def app_name(folder: Path) -> str:
    """A valid blueprint name from a folder name: `My Service_2` -> `my-service-2`."""
    name = re.sub(r"[^a-z0-9-]+", "-", folder.resolve().name.lower()).strip("-")
    name = re.sub(r"-{2,}", "-", name)
    if not name or not name[0].isalpha():
        name = f"app-{name}".strip("-")
    return name[:24].rstrip("-")


def plan_files(template: str, name: str) -> dict[Path, bytes]:
    """{relative path: content} of a template, with the application name filled in."""
    if template not in templates():
        from deployer.blueprint.suggest import did_you_mean

        raise UsageError(f"unknown template '{template}'",
                         hint=did_you_mean(template, templates()) or f"templates: {', '.join(templates())}")
    base = TEMPLATES / template
    files = {}
    for path in sorted(base.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            data = path.read_bytes()
            if path.name == "deployer.yaml":
                data = data.replace(b"{{name}}", name.encode())
            files[path.relative_to(base)] = data
    return files


def write_all(folder: Path, files: dict[Path, bytes]) -> None:
    """Write every file or none: refuse existing files up front, undo on failure."""
    existing = [rel for rel in files if (folder / rel).exists()]
    if existing:
        shown = ", ".join(str(folder / rel) for rel in existing[:3]) + (" ..." if len(existing) > 3 else "")
        raise UsageError(f"{len(existing)} file{'s' if len(existing) > 1 else ''} already exist: {shown}",
                         hint="init never overwrites; choose an empty folder: deployer init DIR")
    written: list[Path] = []
    try:
        for rel, data in files.items():
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "xb") as fh:
                written.append(target)
                fh.write(data)
    except OSError as exc:
        for path in reversed(written):
            path.unlink(missing_ok=True)
        raise UsageError(f"cannot write {exc.filename}: {exc.strerror}") from None


@app.command()
def init(
    folder: Path = typer.Argument(Path("."), help="Folder of the new project (created if missing)."),
    template: str = typer.Option(DEFAULT_TEMPLATE, "--template", "-t",
                                 help="http-api, queue-worker or scheduled."),
    name: str = typer.Option(None, "--name", help="Application name (default: from the folder)."),
) -> None:
    """Write a blueprint and function code, from a template, that validate as they are."""
    from deployer.blueprint.model import NAME_PATTERN  # here: `deployer --help` stays free of pydantic

    app_ = name or app_name(folder)
    if not re.match(NAME_PATTERN, app_) or len(app_) > 24:
        raise UsageError(f"application name '{app_}' must start with a lowercase letter, hold only lowercase "
                         "letters, digits and '-', and be at most 24 characters long", hint="e.g. --name my-app")
    files = plan_files(template, app_)
    write_all(folder, files)
    common.say(f"{common.paint('created', 'green')} {folder / 'deployer.yaml'} ({template}, name {app_}, "
               f"{len(files)} files)")
    common.say(f"next: deployer validate -f {folder / 'deployer.yaml'}")
