"""`deployer doctor`: what this machine has for deploying, without deploying anything.

Answers the questions behind most failed first deployments: is the pulumi CLI installed (and how to
get it), where would the state go and can it be written, which cloud credentials are present in the
environment, which SDK versions (and so which provider plugins) are installed, where the secrets
passphrase comes from. Credentials are reported by variable NAME only; values are never read into the
report. Nothing here needs a blueprint, though one is used for the backend location when present.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import typer

from deployer.cli import common
from deployer.cli.app import app

#: Environment variables that carry (or point to) credentials, per cloud. Only names are reported.
CREDENTIAL_VARS = {
    "aws": ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
            "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_REGION", "AWS_DEFAULT_REGION"),
    "gcp": ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CREDENTIALS", "GOOGLE_OAUTH_ACCESS_TOKEN",
            "CLOUDSDK_AUTH_ACCESS_TOKEN", "GOOGLE_PROJECT", "GOOGLE_CLOUD_PROJECT", "GCP_PROJECT"),
    "azure": ("AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "AZURE_SUBSCRIPTION_ID",
              "AZURE_FEDERATED_TOKEN_FILE", "ARM_CLIENT_ID", "ARM_CLIENT_SECRET", "ARM_TENANT_ID",
              "ARM_SUBSCRIPTION_ID", "ARM_USE_OIDC", "ARM_USE_MSI"),
    "pulumi": ("PULUMI_ACCESS_TOKEN",),
}


def credentials(env: dict[str, str] | os._Environ) -> dict[str, list[str]]:
    """Which credential variables are set, by cloud (names only)."""
    return {cloud: [n for n in names if env.get(n)] for cloud, names in CREDENTIAL_VARS.items()}


def blueprint_root(file: Path | None) -> Path:
    path = Path(file) if file else Path("deployer.yaml")
    return path.resolve() if path.is_dir() else path.resolve().parent  # -f DIR means DIR/deployer.yaml


def declared_sdks() -> list[str]:
    """Every SDK distribution an installed provider declares (deployer.prerequisites), sorted."""
    from deployer import prerequisites, providers

    return sorted({d for name in providers.available() for d in prerequisites.requirements(providers.get(name))})


def collect(file: Path | None, cloud: str, backend: str | None) -> dict[str, Any]:
    from deployer import engine, state

    cli = engine.find_cli()
    root = blueprint_root(file)
    be = state.backend(root, cloud, backend, create=False)
    phrase = state.passphrase(root, create=False)
    return {
        "pulumi_cli": {"path": cli, "version": engine.cli_version(cli) if cli else None,
                       "install": None if cli else engine.INSTALL_HINT},
        "backend": {"url": be.url, "local": be.local, "writable": state.writable(be),
                    "ci_warning": state.ci_warning(be)},
        "credentials": credentials(os.environ),
        "sdks": engine.sdk_versions(declared_sdks()),
        "passphrase": {"source": phrase.source,
                       "exists": True if not phrase.env else Path(phrase.source).is_file()},
        "ci": bool(os.environ.get("CI")),
    }


def render(report: dict[str, Any]) -> None:
    def paint(text: str, *styles: str) -> str:
        return common.paint(text, *styles, stream=sys.stdout)

    cli, be, phrase = report["pulumi_cli"], report["backend"], report["passphrase"]
    if cli["path"]:
        lines = [f"pulumi CLI    {cli['version'] or 'unknown version'} ({cli['path']})"]
    else:
        lines = [f"pulumi CLI    {paint('not installed', 'red')}: {cli['install']}"]
    where = {True: paint("writable", "green"), False: paint("not writable", "red"), None: "remote (not checked)"}
    lines.append(f"backend       {be['url']} - {where[be['writable']]}")
    if be["ci_warning"]:
        lines.append(f"              {paint('warning', 'yellow')}: {be['ci_warning']}")
    for cloud, names in report["credentials"].items():
        found = ", ".join(names) if names else paint("none in the environment", "dim")
        lines.append(f"credentials   {cloud:7} {found}")
    sdks = ", ".join(f"{k} {v or paint('missing', 'red')}" for k, v in report["sdks"].items())
    lines.append(f"SDKs          {sdks}")
    note = "" if phrase["exists"] else " (created on first deploy)"
    lines.append(f"passphrase    {phrase['source']}{note}")
    common.print_text("".join(line + "\n" for line in lines))


@app.command()
def doctor(file: Path = common.FileOpt, cloud: str = typer.Option(
               "aws", "--cloud", "-c", help="Cloud whose default state folder is checked."),
           backend: str = typer.Option(None, "--backend", help="State backend to check (default as `up`)."),
           json_: bool = common.JsonOpt) -> None:
    """Check this machine: pulumi CLI, state backend, cloud credentials (names only), SDK versions."""
    from deployer import providers

    providers.get(cloud)  # an unknown cloud is a usage error (exit 2), not a report about a made-up one
    report = collect(file, cloud, backend)
    if json_:
        common.print_json(report)
    else:
        render(report)
