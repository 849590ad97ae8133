// The smallest app: an unmodified Node server that listens on $PORT (8080 when run alone). Under tsdaemon
// the preload hands it the inherited socket, so `tsdaemon --listen=:8080 -- node examples/hello.js` just
// works. Any further sockets (e.g. --listen=admin=unix:/tmp/app.sock) are served too, found through the
// systemd protocol every tsdaemon child gets: LISTEN_FDS sockets from fd 3 on, named in LISTEN_FDNAMES.
import http from 'node:http';

const handler = (_req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end(`hello from pid ${process.pid} (generation ${process.env.TSDAEMON_GENERATION ?? '-'})\n`);
};

const server = http.createServer(handler);
server.listen(Number(process.env.PORT ?? 8080), () => console.log('hello: listening', server.address()));

const names = (process.env.LISTEN_FDNAMES ?? '').split(':');
for (let i = 1; i < Number(process.env.LISTEN_FDS ?? 0); i++) {
  const extra = http.createServer(handler);
  extra.listen({ fd: 3 + i }, () => console.log(`hello: serving ${names[i]} on fd ${3 + i}`));
}

process.on('SIGTERM', () => server.close(() => process.exit(0)));
