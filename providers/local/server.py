"""The local cloud process: gateway + worker pools + dispatcher + scheduler on one event loop.

`deployer up --cloud local` starts this module as a daemon (`python -m providers.local.server`) and
`deployer dev` runs `serve()` in the foreground with reload. One stage runs at most once: the process
holds an exclusive lock on `<state>/cloud.lock` for its lifetime (a lock, unlike a pid file, cannot go
stale), and publishes where it listens in `<state>/cloud.json` once uvicorn is accepting connections.
SIGTERM (uvicorn's handler) stops it gracefully: no new requests, workers stopped, claims left to be
released by the next start.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path

from deployer.errors import DeployerError, DeploymentError
from deployer.runtime.clients import local as client
from providers.local import existing, functions, gateway, logs, queues, state as local_state
from providers.local.scheduler import Scheduler
from providers.local.workers import Pool


def lock_stage(state: Path):
    """Hold the stage's lock for the life of the process; raise if another local cloud holds it."""
    state.mkdir(parents=True, exist_ok=True)
    handle = open(state / "cloud.lock", "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        info = read_info(state) or {}
        raise DeploymentError(f"the local cloud of this stage is already running at {info.get('url', '?')} "
                              f"(pid {info.get('pid', '?')})", hint="stop it with `deployer down --cloud local`")
    return handle


def read_info(state: Path) -> dict | None:
    try:
        return json.loads((state / "cloud.json").read_text())
    except (OSError, ValueError):
        return None


def bind(port: int | None) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port or 0))
    except OSError as exc:
        sock.close()
        raise DeploymentError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}",
                              hint="pick another port with --port, or leave it out to use a free one") from exc
    sock.listen(2048)
    sock.set_inheritable(False)
    return sock


def outputs(bp, url: str | None, state: Path) -> dict:
    """The same keys as a cloud stack's outputs: api_url, functions, stores (+ the state folder)."""
    from deployer.blueprint.refs import http_routes

    out: dict = {}
    if url and http_routes(bp):
        out["api_url"] = url
    out["functions"] = {name: f"local:{bp.stage_name()}/{name}" for name in bp.functions}
    out["stores"] = {name: existing.locator(bp, name) for name in bp.stores}
    out["state"] = str(state)
    return out


async def serve(bp, state: Path, port: int | None, dev: bool = False, log=print) -> int | None:
    """Run the local cloud until SIGTERM/SIGINT. Returns the port when dev mode asks for a restart."""
    import uvicorn

    specs = functions.specs(bp, state, log=log)
    pools = {name: Pool(spec) for name, spec in specs.items()}
    brokers = queues.open_brokers(bp, state)
    for owner, broker in brokers.items():
        queues.prepare_broker(bp, owner, broker, log)
    client.connect(state / "tables.db", client.TABLE_SCHEMA)  # so every store exists from the start
    warmed = await asyncio.gather(*(pool.warm(1) for pool in pools.values()), return_exceptions=True)
    for name, outcome in zip(pools, warmed):
        if isinstance(outcome, Exception):  # a broken handler fails its invocations, not the cloud
            log(f"function {name!r} failed to start: {outcome}")
    dispatcher = queues.Dispatcher(brokers, pools, queues.consumers(bp))
    scheduler = Scheduler(bp, pools)
    sock = bind(port)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    salt = os.urandom(8).hex()
    info = {"app": bp.stage_name(), "pid": os.getpid(), "url": url, "port": sock.getsockname()[1],
            "file": str(Path(bp.source).resolve()), "stage": bp.stage, "state": str(state), "dev": dev,
            "started": time.time(), "fingerprint": {"salt": salt, "digest": local_state.fingerprint(bp, salt)}}
    app = gateway.build(bp, pools, info)
    for pool in pools.values():
        pool.on_produced = dispatcher.wake
    config = uvicorn.Config(app, http=http_protocol(), lifespan="off", access_log=False, log_level="warning",
                            timeout_graceful_shutdown=5, server_header=False, proxy_headers=False)
    server = uvicorn.Server(config)
    dispatcher.start()
    scheduler.start()
    extra = [asyncio.create_task(_publish(server, state, info, log)), asyncio.create_task(logs.rotate_forever(state))]
    restart = asyncio.Event()
    if dev:
        from providers.local.devmode import stream_logs, watch

        extra += [asyncio.create_task(watch(bp, pools, server, restart, log)),
                  asyncio.create_task(stream_logs(state / "logs"))]
    for sig in (signal.SIGTERM, signal.SIGINT):  # uvicorn re-raises the signal after its graceful
        signal.signal(sig, lambda *_: None)       # shutdown; a no-op handler lets our cleanup run
    try:
        await server.serve(sockets=[sock])
    finally:
        for task in extra:
            task.cancel()
        await dispatcher.stop()
        await scheduler.stop()
        for pool in pools.values():
            pool.stop()
        (state / "cloud.json").unlink(missing_ok=True)
        log("local cloud stopped")
    return info["port"] if restart.is_set() else None


def http_protocol():
    """uvicorn's httptools protocol with head and body in one write (providers/local/httpproto.py)."""
    try:
        from providers.local.httpproto import GatewayProtocol
    except ImportError:  # no httptools: uvicorn's own choice
        return "auto"
    return GatewayProtocol


async def _publish(server, state: Path, info: dict, log) -> None:
    while not server.started:
        await asyncio.sleep(0.01)
    tmp = state / "cloud.json.tmp"
    tmp.write_text(json.dumps(info, indent=2))
    tmp.replace(state / "cloud.json")
    log(f"local cloud of {info['app']} listening on {info['url']} (pid {info['pid']})")


def run(file: str, stage: str, port: int | None, dev: bool = False) -> None:
    """Load the blueprint, take the stage's lock, serve on uvloop when available."""
    from deployer.blueprint.load import load_blueprint

    def log(text: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {text}", flush=True)

    bp = load_blueprint(file, stage=stage)
    state = local_state.private(functions.state_dir(bp), bp)  # 0700, files 0600 (umask), whoever starts it
    lock = lock_stage(state)
    try:
        factory = None
        try:
            import uvloop

            factory = uvloop.new_event_loop
        except ImportError:
            pass
        with asyncio.Runner(loop_factory=factory) as runner:
            restart = runner.run(serve(bp, state, port, dev, log))
    finally:
        lock.close()
    if restart:  # same port, so the URL the developer uses keeps working
        log("blueprint changed: restarting")
        os.execv(sys.executable, [sys.executable, "-m", "providers.local.server", "--file", file, "--stage", stage,
                                  "--port", str(restart), *(["--dev"] if dev else [])])


def main() -> None:
    parser = argparse.ArgumentParser(description="the deployer local cloud (started by `deployer up`)")
    parser.add_argument("--file", required=True)
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--dev", action="store_true")
    args = parser.parse_args()
    try:
        run(args.file, args.stage, args.port, args.dev)
    except DeployerError as exc:
        print(f"error: {exc.message}" + (f"\n  hint: {exc.hint}" if exc.hint else ""), file=sys.stderr, flush=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
