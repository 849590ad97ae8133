#!/usr/bin/env python3
"""uvicorn with a drain that fails no request: the `uvicorn` command line, with one change to what SIGTERM
(and SIGINT) does. Use it in place of `uvicorn` under tsdaemon:

    tsdaemon --listen=:8000 -- python3 examples/uvicorn-graceful.py --fd 3 app:app

Plain uvicorn (0.17, Debian 12) on SIGTERM closes idle keep-alive connections at once, also those whose
next request is already on its way, and ends busy ones after their response without saying
`Connection: close`: a client that sends its next request right away gets no answer. Here SIGTERM
instead stops accepting, adds `Connection: close` to every response from then on, and only after
IDLE_GRACE_S hands over to uvicorn's own shutdown, when the connections still open have been idle that
long. A second signal during that grace starts uvicorn's own shutdown at once."""
import asyncio
import importlib

import uvicorn

# The module: the package attribute `uvicorn.main` is the command-line function of the same name.
cli = importlib.import_module("uvicorn.main")

IDLE_GRACE_S = 1.0  # every client that is sending requests sends its next one well within this time
CLOSE = (b"connection", b"close")


def close_when_draining(app, server):
    async def wrapped(scope, receive, send):
        async def send_with_close(message):
            if server.draining and message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), CLOSE]}
            await send(message)

        await app(scope, receive, send_with_close)

    return wrapped


class GracefulServer(uvicorn.Server):
    draining = False

    async def startup(self, sockets=None):
        self.config.loaded_app = close_when_draining(self.config.loaded_app, self)
        await super().startup(sockets=sockets)

    def handle_exit(self, sig, frame):
        if self.draining:
            return super().handle_exit(sig, frame)
        self.draining = True
        for listener in self.servers:
            listener.close()  # stop accepting: the next generation takes the new connections
        asyncio.get_event_loop().call_later(IDLE_GRACE_S, super().handle_exit, sig, frame)


cli.Server = GracefulServer  # uvicorn's run() builds its server from this name
if __name__ == "__main__":
    cli.main()
