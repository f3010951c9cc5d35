"""Warm worker pools: one pool of worker processes per function, driven from the local cloud's event loop.

Each worker is a separate process (providers/local/worker.py) with the function's own environment,
talking to the local cloud over a private unix socket pair (length-prefixed pickle frames: no HTTP,
no serialisation beyond pickle, one round trip per invocation). Workers are kept warm and reused; a
pool grows on demand up to `max_workers`. The blueprint's timeout is enforced here: a worker that
does not answer in time is killed (SIGKILL) and replaced lazily, and the invocation fails with
InvocationTimeout (HTTP 504). A worker that dies mid-invocation (os._exit, segfault) fails it with
WorkerCrashed (HTTP 502); the local cloud itself never runs user code.
"""

from __future__ import annotations

import asyncio
import collections
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path

from providers.local import spin
from providers.local.functions import FunctionSpec

HEADER = struct.Struct("!I")
WORKER_SCRIPT = str(Path(__file__).with_name("worker.py"))
RUNTIME_ROOT = str(Path(__import__("deployer").__file__).resolve().parent.parent)
START_TIMEOUT = float(os.environ.get("DEPLOYER_LOCAL_START_TIMEOUT", "60"))


class InvocationError(Exception):
    status = 500


class InvocationTimeout(InvocationError):
    status = 504


class WorkerCrashed(InvocationError):
    status = 502


class HandlerFailed(InvocationError):
    status = 500


def log_line(spec: FunctionSpec, text: str) -> None:
    spec.log.parent.mkdir(parents=True, exist_ok=True)
    with open(spec.log, "a") as fh:
        fh.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {text}\n")


class Channel(asyncio.Protocol):
    """The parent's end of a worker's socket: frames in, one awaited reply at a time (no stream layers)."""

    def __init__(self):
        self.transport = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future | None = None
        self.closed = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.loop = asyncio.get_running_loop()  # once, not per request (each lookup is a getpid on 3.11)

    def data_received(self, data: bytes) -> None:
        buf = self.buffer
        buf += data
        while len(buf) >= 4:
            size = HEADER.unpack_from(buf)[0]
            if len(buf) < 4 + size:
                return
            frame = pickle.loads(memoryview(buf)[4:4 + size])
            del buf[:4 + size]
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_result(frame)

    def connection_lost(self, exc) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(EOFError("worker closed its socket"))

    def request(self, data: bytes | None) -> asyncio.Future:
        self.waiter = self.loop.create_future()
        if self.closed:
            self.waiter.set_exception(EOFError("worker closed its socket"))
        elif data is not None:
            self.transport.write(data)
        return self.waiter


class Worker:
    def __init__(self, spec: FunctionSpec):
        self.spec = spec
        self.proc: subprocess.Popen | None = None
        self.channel: Channel | None = None
        self.dead = False
        self.timed_out = False
        self.generation = 0
        self.deadline: float | None = None  # loop time by which the current invocation must answer
        self.timer: asyncio.TimerHandle | None = None

    async def start(self) -> "Worker":
        spec = self.spec
        parent, child = socket.socketpair()
        spec.log.parent.mkdir(parents=True, exist_ok=True)
        with open(spec.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, WORKER_SCRIPT, "--fd", str(child.fileno()), "--code", str(spec.code),
                 "--deps", spec.deps, "--handler", spec.handler, "--function", spec.name,
                 "--runtime", RUNTIME_ROOT],
                pass_fds=[child.fileno()], env=spec.env, cwd=str(spec.code), stdin=subprocess.DEVNULL,
                stdout=log, stderr=log)
        child.close()
        _, self.channel = await asyncio.get_running_loop().create_connection(Channel, sock=parent)
        try:
            status, value = await asyncio.wait_for(self.channel.request(None), START_TIMEOUT)
        except (asyncio.TimeoutError, EOFError, asyncio.IncompleteReadError, ConnectionError) as exc:
            self.kill()
            raise WorkerCrashed(f"worker of {spec.name!r} did not start ({type(exc).__name__}); see its log") from exc
        if status != "ready":
            self.kill()
            raise HandlerFailed(str(value))
        return self

    async def call(self, kind: str, payload, request_id: str, timeout: float):
        """One invocation; its timeout kills the worker (see _arm: no timer per call)."""
        data = pickle.dumps((kind, payload, request_id, time.time() + timeout), protocol=pickle.HIGHEST_PROTOCOL)
        channel = self.channel
        waiter = channel.request(HEADER.pack(len(data)) + data)
        spin.poke(channel.loop)
        self.deadline = channel.loop.time() + timeout
        if self.timer is None:
            self._arm()
        try:
            return await waiter
        except (asyncio.IncompleteReadError, ConnectionError, EOFError):
            code = self.kill()
            if self.timed_out:
                log_line(self.spec, f"TIMEOUT {request_id} after {timeout:g}s: worker killed and replaced")
                raise InvocationTimeout(f"{self.spec.name!r} timed out after {timeout:g}s") from None
            log_line(self.spec, f"CRASH {request_id}: worker exited (code {code}) and is replaced")
            raise WorkerCrashed(f"{self.spec.name!r} crashed (worker exit code {code})") from None
        except BaseException:  # cancelled mid-call: the worker's state is unknown
            self.kill()
            raise
        finally:
            self.deadline = None

    def _arm(self) -> None:
        """A timer at the current deadline. It outlives the call: when it fires, it kills the worker only
        if an invocation is still running past its own deadline, else re-arms for the running one's
        deadline or lapses when the worker is idle. So a busy worker costs one timer per `timeout`
        seconds instead of a timer created and cancelled per request."""
        self.timer = self.channel.loop.call_at(self.deadline, self._check)

    def _check(self) -> None:
        self.timer = None
        if self.deadline is None or self.dead:
            return
        if self.channel.loop.time() >= self.deadline - 0.001:  # timers may fire up to a ms early
            self._expire()
        else:
            self._arm()

    def _expire(self) -> None:
        self.timed_out = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)

    def kill(self) -> int | None:
        self.dead = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.channel is not None and self.channel.transport is not None:
            self.channel.transport.close()
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            return self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return None


class Pool:
    """Warm workers of one function; `invoke` borrows one, replaces it if it died."""

    def __init__(self, spec: FunctionSpec):
        self.spec = spec
        self.idle: list[Worker] = []
        self.waiters: collections.deque[asyncio.Future] = collections.deque()
        self.count = 0
        self.all: set[Worker] = set()
        self.generation = 0
        self.on_produced = None  # called when an invocation sent or published messages

    def reload(self) -> None:
        """New code: idle workers stop now, busy ones when they finish; new ones load the new code."""
        self.generation += 1
        for worker in self.idle:
            worker.kill()
            self.all.discard(worker)
            self.count -= 1
        self.idle.clear()

    async def warm(self, n: int = 1) -> None:
        for _ in range(n):
            self.release(await self._spawn())

    async def _spawn(self) -> Worker:
        self.count += 1
        try:
            worker = Worker(self.spec)
            worker.generation = self.generation
            await worker.start()
        except BaseException:
            self.count -= 1
            self._wake()
            raise
        self.all.add(worker)
        return worker

    async def acquire(self) -> Worker:
        while True:
            if self.idle:
                return self.idle.pop()
            if self.count < self.spec.max_workers:
                return await self._spawn()
            fut = asyncio.get_running_loop().create_future()
            self.waiters.append(fut)
            try:
                worker = await fut
            except asyncio.CancelledError:
                if fut.done() and not fut.cancelled() and fut.result() is not None:
                    self.release(fut.result())
                raise
            if worker is not None:
                return worker

    def _wake(self, worker: Worker | None = None) -> bool:
        while self.waiters:
            fut = self.waiters.popleft()
            if not fut.done():
                fut.set_result(worker)
                return True
        return False

    def release(self, worker: Worker) -> None:
        if worker.generation != self.generation and not worker.dead:
            worker.kill()
        if worker.dead:
            self.all.discard(worker)
            self.count -= 1
            self._wake(None)
        elif not self._wake(worker):
            self.idle.append(worker)

    async def invoke(self, kind: str, payload, request_id: str | None = None):
        request_id = request_id or uuid.uuid4().hex
        worker = self.idle.pop() if self.idle else await self.acquire()  # warm and idle: no coroutine
        try:
            reply = await worker.call(kind, payload, request_id, self.spec.timeout)
        finally:
            self.release(worker)
        if len(reply) > 2 and self.on_produced is not None:
            self.on_produced()
        if reply[0] != "ok":
            raise HandlerFailed(reply[1])
        return reply[1]

    def stop(self) -> None:
        for worker in list(self.all):
            worker.kill()
        self.all.clear()
        self.idle.clear()
        self.count = 0
