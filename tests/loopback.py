"""A Python script, run in its own process, that measures against a loopback TCP server.

The server accepts and drains every connection on daemon threads; the script ends
with ``os._exit`` after printing, so the interpreter never shuts down under threads
still blocked in accept/recv (that crashed once with SIGSEGV).
"""

from __future__ import annotations

_SERVER = """
import json, os, socket, sys, threading
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(64)
PORT = srv.getsockname()[1]
def drain():
    while True:
        c, _ = srv.accept()
        threading.Thread(target=lambda c=c: [None for _ in iter(lambda: c.recv(65536), b"")],
                         daemon=True).start()
threading.Thread(target=drain, daemon=True).start()
"""
_EXIT = """
sys.stdout.flush()
os._exit(0)
"""


def loopback_script(body: str) -> str:
    """``body`` (which may use PORT, json and sys) between the server and a hard exit."""
    return _SERVER + body.strip("\n") + "\n" + _EXIT
