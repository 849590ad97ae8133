// Opens --count keep-alive connections to 127.0.0.1:--port (at most --concurrency connecting at once), sends
// one GET / on each, reads the answer and then leaves the connection idle. Tells the parent over IPC when all
// are open ({type: 'open'}), then watches how each one ends: a FIN from the server ('end', clean), an error
// (ECONNRESET: a reset), or not at all. On the message {type: 'report', since} it answers with the counts and
// the close times in ms after `since` (an epoch time in ms). Runs in its own process, started with a raised
// `ulimit -n`, so the measuring process keeps its event loop and its fds.
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    count: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '200' },
  },
});
const port = Number(values.port);
const count = Number(values.count);
const concurrency = Number(values.concurrency);
const REQUEST = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n';
const ANSWER_TIMEOUT_MS = 30_000;
const now = () => performance.timeOrigin + performance.now();

const connections = []; // { answeredAt, endedAt, closedAt, error }

/** One connection: resolves once its answer is complete (true) or it failed (false); it then stays open. */
function open() {
  return new Promise((resolve) => {
    const connection = {};
    const socket = net.connect({ host: '127.0.0.1', port });
    let received = '';
    const timer = setTimeout(() => socket.destroy(new Error('no answer')), ANSWER_TIMEOUT_MS);
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.write(REQUEST));
    socket.on('data', (chunk) => {
      if (connection.answeredAt) return;
      received += chunk;
      const headEnd = received.indexOf('\r\n\r\n');
      const length = /content-length: *(\d+)/i.exec(received)?.[1];
      if (headEnd < 0 || length === undefined || received.length < headEnd + 4 + Number(length)) return;
      clearTimeout(timer);
      connection.answeredAt = now();
      connections.push(connection);
      resolve(true);
    });
    socket.on('end', () => {
      connection.endedAt = now(); // the server's FIN; Node ends our side too (allowHalfOpen is false)
    });
    socket.on('error', (error) => {
      connection.error = error.code ?? error.message;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      connection.closedAt = now();
      if (!connection.answeredAt) resolve(false);
    });
  });
}

let failed = 0;
let next = 0;
const startedAt = now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < count) {
      next++;
      if (!(await open())) failed++;
    }
  }),
);
const answered = connections.map((c) => c.answeredAt);
process.send({
  type: 'open',
  opened: connections.length,
  failed,
  openMs: now() - startedAt,
  firstAnsweredAt: Math.min(...answered),
  lastAnsweredAt: Math.max(...answered),
  closedAlready: connections.filter((c) => c.closedAt).length,
});

process.on('message', (message) => {
  if (message?.type !== 'report') return;
  const { since } = message;
  const errors = {};
  let clean = 0;
  let stillOpen = 0;
  let closedBefore = 0;
  const closeMs = [];
  for (const c of connections) {
    if (!c.closedAt) {
      stillOpen++;
      continue;
    }
    if (c.closedAt < since) closedBefore++;
    closeMs.push(c.closedAt - since);
    if (c.error) errors[c.error] = (errors[c.error] ?? 0) + 1;
    else if (c.endedAt) clean++;
    else errors['closed without FIN'] = (errors['closed without FIN'] ?? 0) + 1;
  }
  closeMs.sort((a, b) => a - b);
  process.send({ type: 'report', clean, errors, stillOpen, closedBefore, closeMs }, () => process.exit(0));
});
process.on('disconnect', () => process.exit(1));
