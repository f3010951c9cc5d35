"""A function's worker process: the local cloud's shim. Loads the handler once, then serves invocations.

Run as a script (`python worker.py --fd N ...`) with the function's own environment, so it imports only
the standard library, `deployer.runtime` and the user's code (plus the function's vendored
requirements, put first on sys.path). It reads length-prefixed pickle frames from a socket inherited from
the local cloud, turns each into a portable event, calls the handler and writes the answer back.
A hung handler is the parent's business: it kills this process at the deadline; a crash (os._exit,
segfault) just closes the socket, which the parent sees as a failed invocation.

The handler is called through `deployer.runtime.invoke.Function`, the helper of every cloud's shim
(stdlib only), so the local cloud honours the same contract: a Context as second argument by the same
rule, and a raising HTTP handler answers 500 `{"error": "internal error", "request_id"}` with the trace
in the function's log only (routing, query parsing and CORS are the gateway's, with the same helpers).

The function's `memory` is enforced as on a cloud: the worker's data segment (RLIMIT_DATA: the private
writable memory a process allocates, heap and anonymous mappings, which is what a handler's objects
take; RLIMIT_AS would also count reserved-but-unused address space such as glibc's per-thread malloc
arenas and shared libraries, and fail threaded handlers far below their memory) is limited to `memory`
MB before the handler loads. Going over it raises MemoryError in the handler; the worker answers
("oom", text) and the local cloud kills and replaces it, as Lambda ends a sandbox that ran out of memory.

Frames in: (kind, payload, request_id, deadline). Frames out: ("ok", value), ("error", text) or
("oom", text), with a third item True when the invocation sent or published messages (so the dispatcher
wakes at once).
kinds: "http" -> (status, headers, body); "messages" -> [(row, error)] of the failed messages;
"call" (schedule or any single event, for `deployer invoke`) -> repr-safe value.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pickle
import signal
import socket
import struct
import sys
import time
import traceback
from datetime import datetime, timezone

HEADER = struct.Struct("!I")
_memory_mb = 0  # the enforced `memory` limit, for the out-of-memory answer


def load_function(code: str, deps: str, handler: str, function: str, runtime: str = ""):
    """The function as every cloud's shim sees it (deployer.runtime.invoke.Function): the same handler
    import, the same rule for passing a Context, the same HTTP error answers."""
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.path.insert(0, code)
    if deps:
        sys.path.insert(1, deps)
    if runtime and runtime not in sys.path:
        sys.path.append(runtime)  # where `deployer.runtime` lives, after the user's own folders
    from deployer.runtime.invoke import Function, import_handler

    fn = Function({"function": function, "handler": handler, "cloud": "local"})
    fn.set_handler(import_handler(handler))  # now: a broken handler fails the worker's start
    return fn


class Runner:
    """Portable events in, answers out, through the shared Function (see load_function)."""

    def __init__(self, fn):
        from deployer.runtime import types

        self.types, self.fn = types, fn

    def call(self, event, request_id: str, deadline: float):
        return self.fn.call(event, self.fn.context(request_id, deadline))

    def http(self, payload: dict, request_id: str, deadline: float):
        """(status, headers, body): a raise is logged (with its trace) and answered 500 without it."""
        t = self.types
        request = t.Request(method=payload["method"], path=payload["path"], params=payload["params"],
                            query=payload["query"], headers=t.Headers(payload["headers"]), body=payload["body"])
        return self.fn.call_http(request, self.fn.context(request_id, deadline)).encode()

    def event_of(self, source: str, item: dict, store: str | None = None):
        """The portable event of a delivered row; `store` is the consuming trigger's bucket (a bucket that
        already exists is shared, and the app that wrote the object may call it by another name)."""
        t = self.types
        if source == "bucket":
            raw = json.loads(item["data"])
            when = datetime.fromtimestamp(raw["time"], timezone.utc)
            return t.ObjectEvent(store or raw["store"], raw["key"], raw["size"], raw["type"], when)
        return t.Message(item["msg_id"], t.decode_data(item["data"]), item["attributes"], item["attempt"])

    def messages(self, payload: dict, request_id: str, deadline: float):
        failed = []
        for item in payload["items"]:
            try:
                self.call(self.event_of(payload["source"], item, payload.get("store")), request_id, deadline)
            except MemoryError:  # the whole worker is out of memory, not this message: see serve()
                raise
            except Exception as exc:  # noqa: BLE001 - a failed message, retried by the local cloud
                log_error(f"{request_id} message {item['msg_id']} attempt {item['attempt']}", exc)
                failed.append((item["row"], f"{type(exc).__name__}: {exc}"))
        return failed

    def schedule(self, payload: dict, request_id: str, deadline: float):
        when = datetime.fromisoformat(payload["time"])
        return self.call(self.types.ScheduleEvent(payload["schedule"], when), request_id, deadline)


def log_to_stderr() -> None:
    """The runtime logs a failed HTTP call (with its trace) on `deployer.runtime`: into the function's log."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S"))
    runtime_log = logging.getLogger("deployer.runtime")
    runtime_log.addHandler(handler)
    runtime_log.propagate = False


def log_error(label: str, exc: BaseException) -> None:
    text = "".join(traceback.format_exception(exc)).rstrip()
    sys.stderr.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} ERROR {label}\n{text}\n")
    sys.stderr.flush()


def jsonable(value):
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


def read_frame(sock: socket.socket, buf: bytearray) -> memoryview | None:
    """The next frame's bytes (None at EOF), in linear time: a large frame is received straight into a
    buffer of its size (recv_into), never by concatenating chunks, which copied the frame once per
    64 KiB received. `buf` keeps bytes read past the frame (the parent sends one at a time)."""
    while len(buf) < 4:
        chunk = sock.recv(1 << 16)  # usually the whole frame in one call
        if not chunk:
            return None
        buf += chunk
    need = 4 + HEADER.unpack_from(buf)[0]
    if len(buf) < need:
        frame = bytearray(need)
        got = len(buf)
        frame[:got] = buf
        view = memoryview(frame)
        while got < need:
            n = sock.recv_into(view[got:], need - got)
            if not n:
                return None
            got += n
        buf.clear()
        return view[4:]
    frame = bytes(buf[4:need])
    del buf[:need]
    return memoryview(frame)


def serve(sock: socket.socket, runner: Runner) -> None:
    send = sock.sendall
    buf = bytearray()
    while True:
        try:
            frame = read_frame(sock, buf)
            if frame is None:
                return
            kind, payload, request_id, deadline = pickle.loads(frame)
            del frame
        except (EOFError, ConnectionError):
            return
        try:
            if kind == "http":
                reply = ("ok", runner.http(payload, request_id, deadline))
            elif kind == "messages":
                reply = ("ok", runner.messages(payload, request_id, deadline))
            elif kind == "schedule":
                reply = ("ok", jsonable(runner.schedule(payload, request_id, deadline)))
            else:
                reply = ("error", f"unknown invocation kind {kind!r}")
        except MemoryError as exc:
            reply = out_of_memory(request_id, exc)
        except BaseException as exc:  # noqa: BLE001 - the handler failed; report, keep serving
            log_error(request_id, exc)
            reply = ("error", f"{type(exc).__name__}: {exc}")
        client = sys.modules.get("deployer.runtime.clients.local")
        if client is not None and client.produced:  # tell the dispatcher there is work, now
            client.produced = 0
            reply += (True,)
        try:
            data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError as exc:  # the answer itself does not fit in `memory`
            reply = None
            data = pickle.dumps(out_of_memory(request_id, exc))
        except Exception as exc:  # noqa: BLE001
            data = pickle.dumps(("error", f"unpicklable result: {exc}"))
        send(HEADER.pack(len(data)) + data)


def out_of_memory(request_id: str, exc: MemoryError) -> tuple:
    del exc  # its traceback holds the frames that hold the memory
    limit = _memory_mb or "?"
    sys.stderr.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} ERROR {request_id} MemoryError: the handler went "
                     f"over its memory limit ({limit} MB, the function's `memory`)\n")
    sys.stderr.flush()
    return ("oom", f"out of memory (memory: {limit} MB)")


def limit_memory(megabytes: int) -> None:
    """Cap this process's data segment at the function's `memory` (see the module doc)."""
    if megabytes <= 0:
        return
    try:
        import resource

        which = resource.RLIMIT_DATA if sys.platform.startswith("linux") else resource.RLIMIT_AS
        limit = megabytes * 1024 * 1024
        resource.setrlimit(which, (limit, limit))
    except (ImportError, AttributeError, ValueError, OSError):  # no rlimits here: not enforced
        return
    global _memory_mb
    _memory_mb = megabytes


def die_with_parent() -> None:
    """Linux: SIGKILL this worker when the local cloud dies (even by kill -9), so no handler outlives it."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
        if os.getppid() == 1:
            os._exit(0)
    except Exception:  # noqa: BLE001 - other systems: the worker ends at EOF on its socket instead
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("--fd", "--code", "--deps", "--handler", "--function", "--runtime"):
        parser.add_argument(name, default="")
    parser.add_argument("--memory", type=int, default=0)
    args = parser.parse_args()
    die_with_parent()
    limit_memory(args.memory)
    signal.signal(signal.SIGINT, lambda *_: None)  # Ctrl-C in `deployer dev` reaches the terminal's whole
    # process group: the local cloud stops its workers itself, so no KeyboardInterrupt traceback in the log
    sock = socket.socket(fileno=int(args.fd))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    log_to_stderr()
    try:
        fn = load_function(args.code, args.deps, args.handler, args.function, args.runtime)
    except BaseException as exc:  # noqa: BLE001 - report a broken handler to the parent, then stop
        log_error(f"loading handler {args.handler}", exc)
        data = pickle.dumps(("failed", f"cannot load handler {args.handler}: {type(exc).__name__}: {exc}"))
        sock.sendall(HEADER.pack(len(data)) + data)
        return
    data = pickle.dumps(("ready", os.getpid()))
    sock.sendall(HEADER.pack(len(data)) + data)
    serve(sock, Runner(fn))


if __name__ == "__main__":
    main()
