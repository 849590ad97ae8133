"""The ASGI app of bench:servers for uvicorn (`uvicorn --fd 3 asgi:app`): GET / answers
`hello from pid N` after $BENCH_DELAY_MS ms (default 50)."""
import asyncio
import os

DELAY_S = float(os.environ.get("BENCH_DELAY_MS", "50")) / 1000


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await asyncio.sleep(DELAY_S)
    body = f"hello from pid {os.getpid()}\n".encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
