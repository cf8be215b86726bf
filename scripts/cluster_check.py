#!/usr/bin/env python3
"""The clustered demo's check (scripts/demo.sh --cluster --check).

Usage: cluster_check.py POST_BASE_URL FEED_WS_URL DATABASE_URL

Posts a line through one relay's Chat API (token from CHYRON_API_TOKEN),
then waits (10 s at most) until the other relay's feed shows it in a fresh
snapshot, with the seq the post was answered with, and until PostgreSQL holds
it (written behind by the nodes; read with psql). Exit 0, or 1 with the reason.
"""
import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from urllib.parse import urlsplit


def post(base, body):
    req = urllib.request.Request(
        f"{base}/api/v1/channels/demo/messages",
        data=json.dumps({"sender": "cluster-check", "body": body}).encode(),
        headers={
            "Authorization": f"Bearer {os.environ['CHYRON_API_TOKEN']}",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(req, timeout=5) as res:
        return json.load(res)["seq"]


def first_frame(ws_url):
    """The first text frame of a feed websocket (the snapshot): a minimal
    client, no extensions, so frames arrive unmasked and uncompressed."""
    u = urlsplit(ws_url)
    with socket.create_connection((u.hostname, u.port), timeout=5) as s:
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall(
            (
                f"GET {u.path} HTTP/1.1\r\nHost: {u.netloc}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        f = s.makefile("rb")
        status = f.readline()
        if b" 101 " not in status:
            raise RuntimeError(f"feed upgrade refused: {status!r}")
        while f.readline() not in (b"\r\n", b""):
            pass
        head = f.read(2)
        n = head[1] & 0x7F
        if n == 126:
            n = int.from_bytes(f.read(2), "big")
        elif n == 127:
            n = int.from_bytes(f.read(8), "big")
        return json.loads(f.read(n))


def in_postgres(url, body):
    sql = (
        "SELECT count(*) FROM chyron_events WHERE channel = 'demo' "
        "AND entry->'action'->'Post'->>'body' = :'body'"
    )
    # From standard input: psql fills in :'body' there, not in -c.
    out = subprocess.run(
        ["psql", url, "-tA", "-v", f"body={body}", "-f", "-"],
        input=sql, capture_output=True, text=True, check=False,
    )
    return out.returncode == 0 and out.stdout.strip() == "1"


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    base, ws_url, db = sys.argv[1:]
    body = f"cluster check {os.urandom(4).hex()}"
    seq = post(base, body)
    deadline = time.time() + 10
    seen = stored = False
    while time.time() < deadline and not (seen and stored):
        if not seen:
            snap = first_frame(ws_url)
            seen = any(
                m["body"] == body and m["id"] == f"m{seq}" for m in snap.get("messages", [])
            )
        stored = stored or in_postgres(db, body)
        time.sleep(0.2)
    print(f"[cluster-check] posted seq {seq} through {base}: "
          f"in the other node's snapshot: {seen}; in postgresql: {stored}")
    return 0 if seen and stored else 1


if __name__ == "__main__":
    sys.exit(main())
