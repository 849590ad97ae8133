// The benchmark's app: a plain Node hello-world server that knows nothing of its supervisor. It listens on
// $PORT (tsdaemon's preload swaps in the inherited socket; pm2 cluster mode shares the port through the
// cluster module) and answers with its pid, so a client can tell generations apart.
import http from 'node:http';

const server = http.createServer((_req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end(`hello from pid ${process.pid}\n`);
});
// KEEP_ALIVE_MS sets keepAliveTimeout (bench/drain.mjs: idle connections that Node itself would not close).
if (process.env.KEEP_ALIVE_MS) server.keepAliveTimeout = Number(process.env.KEEP_ALIVE_MS);
server.listen(process.env.PORT ?? 3000);

// tsdaemon stops a generation with SIGTERM; pm2 with SIGINT unless kill_signal says otherwise. The same
// plain close() for both, so neither system gets an app that dies mid-request on its signal.
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
