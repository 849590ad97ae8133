// An app that uses the app-side helper explicitly: its "web" socket by name (port 8080 when run without
// tsdaemon), readiness when it is really ready, and an explicit drain on SIGTERM.
//   tsdaemon --listen=web=:8080 -- node examples/helper.js
import http from 'node:http';
import { drain, listen, ready } from 'tsdaemon/app';

const server = http.createServer((_req, res) => res.end(`helper app, pid ${process.pid}\n`));
await listen(server, { name: 'web', port: 8080 });
// Warm caches, open database pools, ... then:
ready();
console.log('helper: ready', server.address());

process.on('SIGTERM', async () => {
  await drain(server); // stop accepting, finish in-flight requests, close keep-alive connections
  process.exit(0);
});
