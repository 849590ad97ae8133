"""The WSGI app of bench:servers for gunicorn (sync and gthread workers): GET / answers
`hello from pid N` after $BENCH_DELAY_MS ms (default 50). gunicorn finds the socket on fd 3 itself
(LISTEN_FDS, LISTEN_PID)."""
import os
import time

DELAY_S = float(os.environ.get("BENCH_DELAY_MS", "50")) / 1000


def app(environ, start_response):
    time.sleep(DELAY_S)
    body = f"hello from pid {os.getpid()}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
