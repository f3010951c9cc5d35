"""The command-line interface: a typer app, one module per command group (see app.py)."""
