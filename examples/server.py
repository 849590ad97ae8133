#!/usr/bin/env python3
"""A Python HTTP server on the socket tsdaemon passes as fd 3 (systemd's LISTEN_FDS protocol), with a
drain on SIGTERM: finish the request in hand, then exit.
    tsdaemon --listen=:8000 -- python3 examples/server.py
It says it is ready by writing READY=1 to the fd named in TSDAEMON_READY_FD (the language-neutral way)."""
import os
import signal
import socket
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"python server, pid {os.getpid()}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class InheritedServer(HTTPServer):
    def __init__(self):
        # Take fd 3 as it is (already bound and listening), instead of binding a port.
        super().__init__(("", 0), Handler, bind_and_activate=False)
        self.socket = socket.socket(fileno=3)


if int(os.environ.get("LISTEN_FDS", "0")) < 1:
    sys.exit("no socket on fd 3: run me under tsdaemon --listen=... (or systemd socket activation)")
server = InheritedServer()
server.timeout = 0.5  # wake up now and then to see whether SIGTERM asked us to stop
stopping = False


def on_term(*_):
    global stopping
    stopping = True


signal.signal(signal.SIGTERM, on_term)
print(f"server.py: serving on fd 3 as pid {os.getpid()}", flush=True)
if "TSDAEMON_READY_FD" in os.environ:
    os.write(int(os.environ["TSDAEMON_READY_FD"]), b"READY=1\n")
while not stopping:
    server.handle_request()
