#!/usr/bin/python3
"""Python's socketserver (http.server.ThreadingHTTPServer) for bench:servers, on the socket inherited as
fd 3: threading_http.py [DRAIN]. GET / answers `hello from pid N` after $BENCH_DELAY_MS ms (default 50);
like http.server by default it speaks HTTP/1.0, one request per connection.
  DRAIN none  (default) no SIGTERM handler: Python dies of the signal, requests in flight are cut;
        clean on SIGTERM, shutdown() from another thread (called from the thread that runs serve_forever()
              it deadlocks), then server_close(), which with daemon_threads = False waits for every
              request in flight."""
import os
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DELAY_S = float(os.environ.get("BENCH_DELAY_MS", "50")) / 1000
drain = sys.argv[1] if len(sys.argv) > 1 else "none"
assert drain in ("none", "clean"), f"threading_http.py: unknown drain {drain!r}"
assert os.environ.get("LISTEN_FDS") == "1", "threading_http.py: LISTEN_FDS is not 1 (no socket on fd 3)"


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(DELAY_S)
        body = f"hello from pid {os.getpid()}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = drain == "none"  # ThreadingHTTPServer's default is True: exit without waiting


server = Server(("", 0), Handler, bind_and_activate=False)
server.socket.close()
server.socket = socket.socket(fileno=3)  # family and type are read from the fd
if drain == "clean":
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
server.serve_forever()
server.server_close()  # joins the handler threads (block_on_close)
