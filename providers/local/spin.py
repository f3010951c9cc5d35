"""Keep the event loop polling, not sleeping, for a few tens of microseconds after it hands work on.

A request at concurrency 1 crosses processes four times (client -> gateway -> worker -> gateway ->
client), and each time the receiving process was asleep. Waking a sleeping process on another CPU costs
far more than the work itself on a virtual machine (an inter-processor interrupt, often a vCPU that the
hypervisor must schedule again): pinning everything to one CPU made the same request 1.7x as fast.
The gateway's two wake-ups are avoidable: a worker usually answers within ~50 us, and a client on a
kept-alive connection sends its next request about as soon. So after the gateway writes to a worker or
answers a client, `poke()` keeps a no-op callback in the ready queue for `SPIN_WINDOW` seconds: uvloop
then polls its sockets with a zero timeout instead of blocking, and the answer is read the moment it
lands. Outside those windows the loop sleeps as before (an idle local cloud stays at ~0 CPU), and under
load the loop is never idle anyway, so the window costs nothing there. DEPLOYER_LOCAL_SPIN_US sets the
window (0 turns it off).
"""

from __future__ import annotations

import asyncio
import os
import time

SPIN_WINDOW = float(os.environ.get("DEPLOYER_LOCAL_SPIN_US", "150")) / 1e6
_clock = time.perf_counter


class Spinner:
    """One per event loop: `poke()` opens (or extends) a busy-poll window."""

    def __init__(self, loop: asyncio.AbstractEventLoop, window: float = SPIN_WINDOW):
        self.loop, self.window = loop, window
        self.until = 0.0
        self.spinning = False

    def poke(self) -> None:
        if self.window <= 0:
            return
        self.until = _clock() + self.window
        if not self.spinning:
            self.spinning = True
            self.loop.call_soon(self._spin)

    def _spin(self) -> None:
        if _clock() < self.until:
            self.loop.call_soon(self._spin)
        else:
            self.spinning = False


_spinner: Spinner | None = None


def poke(loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Open a busy-poll window on this loop, by default the running one (see the module doc)."""
    global _spinner
    loop = loop or asyncio.get_running_loop()
    if _spinner is None or _spinner.loop is not loop:  # one loop per local cloud process
        _spinner = Spinner(loop)
    _spinner.poke()
