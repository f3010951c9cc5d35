"""A scripted stand-in for the pulumi CLI, so PulumiEngine runs through the real Automation API here.

The Automation API drives the CLI as a subprocess: `pulumi version`, `stack select`, `config set-all`,
`plugin install`, `up|preview|destroy|refresh --event-log FILE`, `stack output --json`, `stack history
--json`, `stack ls --json`, `cancel`. This script answers those with the shapes the real CLI prints (it
reports version 3.200.0 so the Automation API reads engine events from the --event-log file rather
than over gRPC) and appends every call, with the variables deployer set, to $FAKE_PULUMI_LOG.
$FAKE_PULUMI_SCENARIO picks the story: ok, locked, missing (no such stack), fail, interrupt.
`install(bin_dir)` writes it as an executable named `pulumi`.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

URN = "urn:pulumi:dev::shop::{typ}::{name}"
STATE_VARS = ("PULUMI_CONFIG_PASSPHRASE_FILE", "PULUMI_BACKEND_URL", "PULUMI_SKIP_UPDATE_CHECK")


def install(bin_dir: Path) -> Path:
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / "pulumi"
    path.write_text(f"#!{sys.executable}\n" + Path(__file__).read_text())
    path.chmod(0o755)
    return path


def step(kind: str, op: str, name: str, typ: str, retain: bool = False) -> dict:
    meta = {"op": op, "urn": URN.format(typ=typ, name=name), "type": typ, "provider": ""}
    if op == "delete":
        meta["old"] = {"type": typ, "urn": meta["urn"], "id": name, "parent": "", "provider": "",
                       **({"retainOnDelete": True} if retain else {})}
    return {kind: {"metadata": meta}}


def events(command: str, scenario: str) -> list[dict]:
    bucket, fn = ("store-uploads-bucket", "aws:s3/bucket:Bucket"), ("fn-api-function", "aws:lambda/function:Function")
    if scenario == "fail":
        return [step("resourcePreEvent", "create", *bucket),
                {"diagnosticEvent": {"message": "creating bucket: AccessDenied", "severity": "error",
                                     "urn": URN.format(typ=bucket[1], name=bucket[0])}},
                {"resOpFailedEvent": {**step("x", "create", *bucket)["x"], "status": 1, "steps": 1}},
                {"summaryEvent": {"resourceChanges": {"create": 0}}}]
    if command == "destroy":
        return [step("resourcePreEvent", "delete", *bucket, retain=True), step("resOutputsEvent", "delete", *bucket),
                step("resourcePreEvent", "delete", *fn), step("resOutputsEvent", "delete", *fn),
                {"summaryEvent": {"resourceChanges": {"delete": 3}}}]
    if command == "none":
        return []
    if command == "preview" and os.environ.get("FAKE_PULUMI_UNCHANGED"):
        return [{"summaryEvent": {"resourceChanges": {"same": 3}}}]
    return [step("resourcePreEvent", "create", *bucket), step("resOutputsEvent", "create", *bucket),
            step("resourcePreEvent", "create", *fn), step("resOutputsEvent", "create", *fn),
            {"summaryEvent": {"resourceChanges": {"create": 2, "same": 1}}}]


def write_events(args: list[str], command: str, scenario: str) -> None:
    target = args[args.index("--event-log") + 1]
    with open(target, "a", encoding="utf-8") as fh:
        for seq, event in enumerate([*events(command, scenario), {"cancelEvent": {}}]):  # the CLI's last event
            fh.write(json.dumps({"sequence": seq, "timestamp": 0, **event}) + "\n")


def answer(args: list[str], scenario: str) -> int:
    command = args[0] if args else ""
    if command == "version":
        print("v3.200.0")
        return 0
    if scenario == "missing" and args[:2] == ["stack", "select"] and "--create" not in args:
        print("error: no stack named 'dev' found", file=sys.stderr)
        return 255
    if scenario == "locked" and command in ("up", "preview", "destroy", "refresh"):
        write_events(args, "none", scenario)
        print("error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end "
              "or delete the lock file with `pulumi cancel`.", file=sys.stderr)
        return 255
    if scenario == "interrupt" and command == "up":  # Ctrl-C on the terminal reaches deployer too
        os.kill(os.getppid(), signal.SIGINT)
        write_events(args, "none", scenario)
        print("error: update canceled", file=sys.stderr)
        return 255
    if command in ("up", "preview", "destroy", "refresh"):
        write_events(args, command, scenario)
        if scenario == "fail":
            print("error: update failed\n    aws:s3/bucket:Bucket (store-uploads-bucket):\n"
                  "    error: creating bucket: AccessDenied")
            return 255
        return 0
    if args[:2] == ["stack", "output"]:
        secret = "--show-secrets" in args
        print(json.dumps({"api_url": "https://abc.execute-api.test", "token": "s3cr3t" if secret else "[secret]"}))
        return 0
    if args[:2] == ["stack", "export"]:  # what the state holds: a stack (the Stack resource only)
        print(json.dumps({"version": 3, "deployment": {"manifest": {}, "resources": [
            {"urn": "urn:pulumi:dev::shop::pulumi:pulumi:Stack::shop-dev", "type": "pulumi:pulumi:Stack",
             "custom": False}]}}))
        return 0
    if args[:2] == ["stack", "history"]:
        print(json.dumps([{"kind": "update", "startTime": "2026-01-01T00:00:00.000Z", "message": "",
                           "environment": {}, "config": {}, "result": "succeeded", "version": 1,
                           "endTime": "2026-01-01T00:00:01.000Z", "resourceChanges": {"create": 2}}]))
        return 0
    if args[:2] == ["stack", "ls"]:
        print(json.dumps([{"name": "dev", "current": True, "updateInProgress": False,
                           "lastUpdate": "2026-01-01T00:00:01.000Z", "resourceCount": 3}]))
        return 0
    return 0  # stack select/init, config set-all, plugin install, cancel


def main() -> int:
    args = [a for a in sys.argv[1:] if a != "--non-interactive"]
    with open(os.environ["FAKE_PULUMI_LOG"], "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"args": args, "cwd": os.getcwd(),
                             "env": {k: os.environ.get(k) for k in STATE_VARS},
                             "passphrase_in_env": "PULUMI_CONFIG_PASSPHRASE" in os.environ}) + "\n")
    return answer(args, os.environ.get("FAKE_PULUMI_SCENARIO", "ok"))


if __name__ == "__main__":
    sys.exit(main())
