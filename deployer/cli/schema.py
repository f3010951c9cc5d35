"""`deployer schema`: print the JSON Schema of blueprint format 1 (generated from the model).

Point an editor at it, e.g. with a first line `# yaml-language-server: $schema=blueprint.schema.json`
after `deployer schema > blueprint.schema.json`.
"""

from __future__ import annotations

from pathlib import Path

import typer

from deployer.cli import common
from deployer.cli.app import app


@app.command()
def schema(
    output: Path = typer.Option(None, "-o", "--output", help="Write to this file instead of stdout."),
) -> None:
    """Print the JSON Schema of the blueprint format (for editors and CI)."""
    import json

    from deployer.blueprint.spec import json_schema

    if output is not None:
        common.check_output(output, "blueprint.schema.json")
    text = json.dumps(json_schema(), indent=2) + "\n"
    if output is None:
        common.print_text(text)
        return
    output.write_text(text, encoding="utf-8")
    common.say(f"{common.paint('wrote', 'green')} {output}")
