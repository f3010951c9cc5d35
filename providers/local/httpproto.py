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
- a request must arrive whole (head and body): a connection found waiting for the rest of the same
  request (or for its first one) at two checks READ_TIMEOUT apart (30 s: Kestrel's
  RequestHeadersTimeout) is answered 408 and closed, so a request gets between 30 and 60 s. uvicorn's
  keep-alive timeout (5 s) already closes a connection idle between requests;
- at most MAX_CONNECTIONS open connections: the next one is answered 503 and closed.
These cost the hot path almost nothing: no timer per request (one periodic check per connection looks
at the state uvicorn keeps) and no Python callback per header: the head is measured on the raw data
before the parser sees it (its bytes up to the blank line, one line per header, counted at C speed
across the chunks it arrives in), so an oversized head never reaches the parser or the app. Each bound
can be moved with an environment variable (DEPLOYER_LOCAL_MAX_HEAD_BYTES, _MAX_HEADERS, _READ_TIMEOUT,
_MAX_CONNECTIONS).

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


_feed = HttpToolsProtocol.data_received


class GatewayProtocol(HttpToolsProtocol):
    """HttpToolsProtocol over a CoalescingTransport, with the bounds of the module doc; passed to
    uvicorn.Config as `http=`."""

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
        self.head_bytes = self.head_lines = 0  # of a head not yet complete
        self.read_timer: asyncio.TimerHandle | None = None
        self.waiting_on = self  # what the last check found the connection waiting on (self: nothing yet)
        if len(self.connections) > MAX_CONNECTIONS:
            return self.answer(503, f"more than {MAX_CONNECTIONS} open connections")
        self.read_timer = self.loop.call_later(READ_TIMEOUT, self.check_read)

    def connection_lost(self, exc) -> None:
        if self.read_timer is not None:
            self.read_timer.cancel()
            self.read_timer = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        cycle = self.cycle
        if cycle is None or not cycle.more_body:  # the data starts in a request's head, not in a body
            end = data.find(b"\r\n\r\n")
            if end < 0 or end > MAX_HEAD_BYTES or self.head_bytes or data.count(b"\n", 0, end) > MAX_HEADERS:
                if self.measure(data, end):  # refused
                    return
        _feed(self, data)
        if self.head_bytes and self.cycle is not cycle:  # a head ended in this data (whatever its line endings)
            self.head_bytes = self.head_lines = 0

    def measure(self, data: bytes, end: int) -> bool:
        """A head that is large or not complete yet: add it up across chunks; True when answered 431."""
        size = self.head_bytes + (len(data) if end < 0 else end)
        lines = self.head_lines + data.count(b"\n", 0, None if end < 0 else end)  # one per header
        self.head_bytes, self.head_lines = (size, lines) if end < 0 else (0, 0)
        if size > MAX_HEAD_BYTES:
            self.answer(431, f"request line and headers larger than {MAX_HEAD_BYTES} bytes")
        elif lines > MAX_HEADERS:
            self.answer(431, f"more than {MAX_HEADERS} request headers")
        else:
            return False
        return True

    def check_read(self) -> None:
        """Every READ_TIMEOUT: a connection waiting for the rest of the same request as at the last
        check (or for a first request) is answered 408."""
        self.read_timer = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        idle = self.timeout_keep_alive_task is not None  # between requests: uvicorn's keep-alive timeout
        serving = cycle is not None and not cycle.more_body and not cycle.response_complete
        if idle or serving:
            self.waiting_on = self
        elif self.waiting_on is cycle:
            return self.answer(408, f"the request did not arrive within {READ_TIMEOUT:g} s")
        else:
            self.waiting_on = cycle
        self.read_timer = self.loop.call_later(READ_TIMEOUT, self.check_read)

    def answer(self, status: int, why: str) -> None:
        """Answer and close, outside the ASGI app (the request never reached it, or never will)."""
        body = json.dumps({"error": why}).encode()
        head = (b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
                b"connection: close\r\n\r\n" % (status, REASONS[status], len(body)))
        if not self.transport.is_closing():
            self.transport.write(head + body)
            self.transport.close()
