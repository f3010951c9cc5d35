"""uvicorn's httptools protocol with one change: a response's head and body leave in one write.

uvicorn writes the status line and headers when the app sends `http.response.start`, and the body with
`http.response.body`: two write syscalls on the TCP socket, and two wake-ups of the client, which reads
the head, finds no body yet and sleeps again. At concurrency 1 that second round trip through the kernel
is a measurable share of a request. Here the transport handed to uvicorn holds a response head back
until the next write in the same loop step (the body, which every endpoint of the gateway sends right
after the head) and sends both as one. A head that nothing follows (a HEAD request, a streaming app) is
flushed at the end of the step by a call_soon, so nothing is ever held longer; `100 Continue` is never
held (the client waits for it before sending the body).

It also bounds what a client may hold, as a cloud's front end does (uvicorn bounds none of it):
- the request line and headers together at most MAX_HEAD_BYTES (10,240 bytes: API Gateway HTTP API's
  "total combined size of request line and header values"), and at most MAX_HEADERS headers (100:
  Kestrel's MaxRequestHeaderCount, the Azure Functions host's server): else 431 and the connection closes;
- a request must arrive whole (head and body) within READ_TIMEOUT seconds of its first byte, and a new
  connection must start one within as long (30 s: Kestrel's RequestHeadersTimeout): else 408 and close.
  uvicorn's keep-alive timeout (5 s) already closes a connection idle between requests;
- at most MAX_CONNECTIONS open connections: the next one is answered 503 and closed.
The request timer is lazy like the workers' (one timer per READ_TIMEOUT per connection, re-armed when it
fires early), so the hot path pays a clock read per request, not a timer. Each bound can be moved with an
environment variable (DEPLOYER_LOCAL_MAX_HEAD_BYTES, _MAX_HEADERS, _READ_TIMEOUT, _MAX_CONNECTIONS).

Everything else (parsing, keep-alive, pipelining, flow control, 400 on malformed requests) is uvicorn's.
"""

from __future__ import annotations

import asyncio
import json
import os

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_HEAD_PREFIX = b"HTTP/1.1 "
_CONTINUE = b"HTTP/1.1 100 "
MAX_HEAD_BYTES = int(os.environ.get("DEPLOYER_LOCAL_MAX_HEAD_BYTES", "10240"))
MAX_HEADERS = int(os.environ.get("DEPLOYER_LOCAL_MAX_HEADERS", "100"))
READ_TIMEOUT = float(os.environ.get("DEPLOYER_LOCAL_READ_TIMEOUT", "30"))
MAX_CONNECTIONS = int(os.environ.get("DEPLOYER_LOCAL_MAX_CONNECTIONS", "1024"))
REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large", 503: b"Service Unavailable"}


class Refused(Exception):
    """Raised from a parser callback to stop parsing a request the gateway answers itself."""


class CoalescingTransport:
    """A transport that merges a response head with the write that follows it (see the module doc)."""

    __slots__ = ("transport", "loop", "head")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self.transport, self.loop = transport, loop
        self.head: bytes | None = None

    def write(self, data: bytes) -> None:
        head = self.head
        if head is not None:
            self.head = None
            self.transport.write(head + data)
        elif data.endswith(b"\r\n\r\n") and data.startswith(_HEAD_PREFIX) and not data.startswith(_CONTINUE):
            self.head = data
            self.loop.call_soon(self.flush)
        else:
            self.transport.write(data)

    def flush(self) -> None:
        head = self.head
        if head is not None:
            self.head = None
            if not self.transport.is_closing():
                self.transport.write(head)

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def __getattr__(self, name: str):  # is_closing, get_extra_info, pause/resume_reading, ...
        return getattr(self.transport, name)


class GatewayProtocol(HttpToolsProtocol):
    """HttpToolsProtocol over a CoalescingTransport, with the bounds of the module doc; passed to
    uvicorn.Config as `http=`."""

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
        self.head_bytes = self.header_count = 0
        self.refusal: tuple[int, str] | None = None
        self.read_timer: asyncio.TimerHandle | None = None
        if len(self.connections) > MAX_CONNECTIONS:
            return self.answer(503, f"more than {MAX_CONNECTIONS} open connections")
        self.read_deadline: float | None = self.loop.time() + READ_TIMEOUT
        self.read_timer = self.loop.call_at(self.read_deadline, self.check_read)

    def connection_lost(self, exc) -> None:
        if self.read_timer is not None:
            self.read_timer.cancel()
            self.read_timer = None
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.head_bytes = self.header_count = 0
        self.read_deadline = self.loop.time() + READ_TIMEOUT
        if self.read_timer is None:
            self.read_timer = self.loop.call_at(self.read_deadline, self.check_read)

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self.head_bytes += len(url)
        if self.head_bytes > MAX_HEAD_BYTES:
            self.refuse(f"request line and headers larger than {MAX_HEAD_BYTES} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.head_bytes += len(name) + len(value) + 4
        self.header_count += 1
        if self.head_bytes > MAX_HEAD_BYTES:
            self.refuse(f"request line and headers larger than {MAX_HEAD_BYTES} bytes")
        if self.header_count > MAX_HEADERS:
            self.refuse(f"more than {MAX_HEADERS} request headers")
        super().on_header(name, value)

    def on_message_complete(self) -> None:
        self.read_deadline = None  # the timer lapses when it fires
        super().on_message_complete()

    def refuse(self, why: str) -> None:
        self.refusal = (431, why)
        raise Refused(why)  # httptools stops and raises a parser error: send_400_response below

    def send_400_response(self, msg: str) -> None:
        if self.refusal is None:
            return super().send_400_response(msg)
        self.answer(*self.refusal)

    def check_read(self) -> None:
        self.read_timer = None
        deadline = self.read_deadline
        if deadline is None or self.transport.is_closing():
            return
        if self.loop.time() < deadline - 0.001:
            self.read_timer = self.loop.call_at(deadline, self.check_read)
        else:
            self.answer(408, f"the request did not arrive within {READ_TIMEOUT:g} s")

    def answer(self, status: int, why: str) -> None:
        """Answer and close, outside the ASGI app (the request never reached it, or never will)."""
        body = json.dumps({"error": why}).encode()
        head = (b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
                b"connection: close\r\n\r\n" % (status, REASONS[status], len(body)))
        if not self.transport.is_closing():
            self.transport.write(head + body)
            self.transport.close()
