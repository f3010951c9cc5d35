"""uvicorn's httptools protocol with one change: a response's head and body leave in one write.

uvicorn writes the status line and headers when the app sends `http.response.start`, and the body with
`http.response.body`: two write syscalls on the TCP socket, and two wake-ups of the client, which reads
the head, finds no body yet and sleeps again. At concurrency 1 that second round trip through the kernel
is a measurable share of a request. Here the transport handed to uvicorn holds a response head back
until the next write in the same loop step (the body, which every endpoint of the gateway sends right
after the head) and sends both as one. A head that nothing follows (a HEAD request, a streaming app) is
flushed at the end of the step by a call_soon, so nothing is ever held longer; `100 Continue` is never
held (the client waits for it before sending the body).

Everything else (parsing, keep-alive, pipelining, flow control, 400 on malformed requests) is uvicorn's.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_HEAD_PREFIX = b"HTTP/1.1 "
_CONTINUE = b"HTTP/1.1 100 "


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
    """HttpToolsProtocol over a CoalescingTransport; passed to uvicorn.Config as `http=`."""

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
