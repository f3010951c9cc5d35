"""Benchmark: how long a worker takes to read one large frame from the local cloud (providers/local/worker.py).

    .venv/bin/python bench/frames.py [--sizes 5,10,20,40] [--rounds 3]

A frame (4-byte length + pickle) is written by a thread into a unix socket pair, as the local cloud writes
an invocation to a worker, and read back two ways: `read_frame` (the worker's reader: one buffer of the
frame's size filled with recv_into) and the reader it replaced (64 KiB chunks appended to a bytes object,
which copies the frame once per chunk: quadratic). Prints a table (median of --rounds) and writes
bench/results/frames.json.
"""

from __future__ import annotations

import argparse
import json
import pickle
import socket
import statistics
import struct
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from providers.local.worker import read_frame  # noqa: E402

HEADER = struct.Struct("!I")


def concatenating(sock: socket.socket):
    """The reader before read_frame, kept here to measure against."""
    buf = b""
    while len(buf) < 4 or len(buf) < 4 + HEADER.unpack_from(buf)[0]:
        chunk = sock.recv(1 << 16)
        if not chunk:
            raise EOFError
        buf += chunk
    return pickle.loads(buf[4:4 + HEADER.unpack_from(buf)[0]])


def linear(sock: socket.socket):
    return pickle.loads(read_frame(sock, bytearray()))


def once(reader, frame: bytes) -> float:
    a, b = socket.socketpair()
    writer = threading.Thread(target=a.sendall, args=(frame,))
    writer.start()
    start = time.perf_counter()
    reader(b)
    took = time.perf_counter() - start
    writer.join()
    a.close()
    b.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="5,10,20,40", help="frame sizes in MB")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows = []
    print(f"{'frame MB':>8} {'read_frame s':>13} {'concatenating s':>16}")
    for mb in (int(s) for s in args.sizes.split(",")):
        data = pickle.dumps(("messages", b"x" * (mb << 20), "request", 0.0), protocol=pickle.HIGHEST_PROTOCOL)
        frame = HEADER.pack(len(data)) + data
        new = [once(linear, frame) for _ in range(args.rounds)]
        old = [once(concatenating, frame) for _ in range(args.rounds)]
        rows.append({"mb": mb, "read_frame_s": new, "concatenating_s": old})
        print(f"{mb:>8} {statistics.median(new):>13.3f} {statistics.median(old):>16.3f}")
    out = ROOT / "bench" / "results" / "frames.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rounds": args.rounds, "rows": rows}, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
