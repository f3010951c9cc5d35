"""Warm worker pools: one pool of worker processes per function, driven from the local cloud's event loop.

Each worker is a separate process (providers/local/worker.py) with the function's own environment,
talking to the local cloud over a private unix socket pair (length-prefixed pickle frames: no HTTP,
no serialisation beyond pickle, one round trip per invocation). Workers are kept warm and reused; a
pool grows on demand up to `max_workers`.

Each worker leads its own process group (in the local cloud's session: a session of its own would also
be a scheduler autogroup of its own on Linux, and change how the CPU is shared between the gateway and
its workers), so whatever a handler forks belongs to the group, and every kill here is a kill of the
group: a forked child cannot outlive its worker's timeout, crash or `down`, nor hold the worker's
socket open. The blueprint's timeout is enforced here: when the
deadline passes before the reply is in, the invocation fails at once with InvocationTimeout (HTTP 504)
and the group is killed (SIGKILL); a reply that is already in wins, and a worker that was killed is never
put back in the pool, so the next request cannot inherit a dead worker's 504. A worker that exits
mid-invocation (os._exit, segfault, or a handler that forks and lets the parent exit) fails it with
WorkerCrashed (HTTP 502): its exit is watched through a pidfd, not only as EOF on a socket that a child
may still hold. A worker that ran out of its `memory` (see worker.py) answers "oom": OutOfMemory (502),
and the worker is replaced. The local cloud itself never runs user code.
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


class OutOfMemory(InvocationError):
    """The handler went over its `memory`: like Lambda's Runtime.OutOfMemory, a 502 (API Gateway's answer)."""
    status = 502


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
        self.dead = False  # killed and reaped: never to be used again
        self.exited = False  # the process ended on its own (seen through its pidfd)
        self.timed_out = False
        self.generation = 0
        self.deadline: float | None = None  # loop time by which the current invocation must answer
        self.timer: asyncio.TimerHandle | None = None
        self.pidfd: int | None = None
        self.on_exit = None  # the pool's callback for a worker that exits while idle

    async def start(self) -> "Worker":
        spec = self.spec
        parent, child = socket.socketpair()
        spec.log.parent.mkdir(parents=True, exist_ok=True)
        with open(spec.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, WORKER_SCRIPT, "--fd", str(child.fileno()), "--code", str(spec.code),
                 "--deps", spec.deps, "--handler", spec.handler, "--function", spec.name,
                 "--runtime", RUNTIME_ROOT, "--memory", str(spec.memory)],
                pass_fds=[child.fileno()], env=spec.env, cwd=str(spec.code), stdin=subprocess.DEVNULL,
                stdout=log, stderr=log, process_group=0)
        child.close()
        loop = asyncio.get_running_loop()
        _, self.channel = await loop.create_connection(Channel, sock=parent)
        self._watch(loop)
        try:
            status, value = await asyncio.wait_for(self.channel.request(None), START_TIMEOUT)
        except (asyncio.TimeoutError, EOFError, asyncio.IncompleteReadError, ConnectionError) as exc:
            self.kill()
            raise WorkerCrashed(f"worker of {spec.name!r} did not start ({type(exc).__name__}); see its log") from exc
        if status != "ready":
            self.kill()
            raise HandlerFailed(str(value))
        return self

    def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Learn of the worker's exit the moment it happens (Linux pidfd); elsewhere EOF on its socket."""
        try:
            self.pidfd = os.pidfd_open(self.proc.pid)
            loop.add_reader(self.pidfd, self._exited)
        except (AttributeError, OSError, NotImplementedError):
            self._unwatch()

    def _unwatch(self) -> None:
        if self.pidfd is not None:
            try:
                self.channel.loop.remove_reader(self.pidfd)
            except (AttributeError, RuntimeError):  # no channel yet, or the loop is closed
                pass
            os.close(self.pidfd)
            self.pidfd = None

    def _exited(self) -> None:
        self._unwatch()
        self.exited = True
        self.channel.closed = True
        waiter = self.channel.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(EOFError("worker process exited"))
        if self.on_exit is not None:
            self.on_exit(self)

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
            reply = await waiter
        except (asyncio.IncompleteReadError, ConnectionError, EOFError):
            code = self.kill()
            if self.timed_out:
                log_line(self.spec, f"TIMEOUT {request_id} after {timeout:g}s: worker killed and replaced")
                raise InvocationTimeout(f"{self.spec.name!r} timed out after {timeout:g}s") from None
            limit = f"; its memory limit is {self.spec.memory} MB" if self.spec.memory else ""
            log_line(self.spec, f"CRASH {request_id}: worker exited (code {code}) and is replaced{limit}")
            raise WorkerCrashed(f"{self.spec.name!r} crashed (worker exit code {code})") from None
        except BaseException:  # cancelled mid-call: the worker's state is unknown
            self.kill()
            raise
        finally:
            self.deadline = None
        if reply[0] == "oom":
            self.kill()
            log_line(self.spec, f"OUT OF MEMORY {request_id}: {self.spec.name!r} went over its memory limit "
                                f"(memory: {self.spec.memory} MB): worker killed and replaced")
            raise OutOfMemory(f"{self.spec.name!r} ran out of memory (memory: {self.spec.memory} MB)")
        return reply

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
        """The deadline passed. A reply already read wins (the call returns it, the worker stays good);
        else the invocation fails now, not when the socket closes (a forked child may hold it), and the
        worker's group is killed."""
        waiter = self.channel.waiter
        if waiter is None or waiter.done():
            return
        self.timed_out = True
        self._kill_group()
        waiter.set_exception(EOFError("deadline passed"))

    def _kill_group(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the worker leads its group: it and all it forked
        except (ProcessLookupError, PermissionError):
            pass
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGKILL)
            except ProcessLookupError:
                pass

    def kill(self) -> int | None:
        self.dead = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self._unwatch()
        if self.channel is not None and self.channel.transport is not None:
            self.channel.transport.close()
        if self.proc is None:
            return None
        self._kill_group()
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
        worker.on_exit = self._exited
        self.all.add(worker)
        return worker

    def _exited(self, worker: Worker) -> None:
        """A worker exited on its own while idle: drop it now, not on the next request (a 502 unearned)."""
        if worker in self.idle:
            self.idle.remove(worker)
            self.release(worker)

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
        if (worker.exited or worker.generation != self.generation) and not worker.dead:
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
