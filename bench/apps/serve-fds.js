// A benchmark app that serves every socket it inherited (fds 3 … 3+LISTEN_FDS−1, the systemd protocol
// tsdaemon speaks) with the same handler as hello.js. Under tsdaemon's preload each server is tracked for
// the drain like a listen(PORT); with --no-preload it is the app alone, with nothing added per request.
import http from 'node:http';

const FIRST_FD = 3;
const count = Number(process.env.LISTEN_FDS ?? 0);
const servers = [];
for (let fd = FIRST_FD; fd < FIRST_FD + count; fd++) {
  const server = http.createServer((_req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`hello from pid ${process.pid}\n`);
  });
  server.listen({ fd });
  servers.push(server);
}
if (!servers.length) throw new Error('serve-fds.js: no inherited sockets (LISTEN_FDS is not set)');

// As hello.js: a plain close() on the stop signal (tsdaemon's preload turns it into a drain).
for (const signal of ['SIGTERM', 'SIGINT'])
  process.on(signal, () => {
    let open = servers.length;
    for (const server of servers) server.close(() => --open || process.exit(0));
  });
