// bench/apps/hello.js without any signal handler: under tsdaemon the preload drains it on SIGTERM and
// exits 0 once drained (an app with no drain code at all). Not meant to run bare: SIGTERM kills it at once.
// KEEP_ALIVE_MS sets keepAliveTimeout, as in hello.js.
import http from 'node:http';

const server = http.createServer((_req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end(`hello from pid ${process.pid}\n`);
});
if (process.env.KEEP_ALIVE_MS) server.keepAliveTimeout = Number(process.env.KEEP_ALIVE_MS);
server.listen(process.env.PORT ?? 3000);
