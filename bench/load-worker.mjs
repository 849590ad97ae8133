// The load generator, in a process of its own so the measuring process does not share its event loop:
// --connections keep-alive clients (like autocannon -c 50), each sending the next GET to 127.0.0.1:--port as
// soon as the last one answered. Answered requests count in the --bucket-ms bucket they end in, failed ones
// in the bucket they were sent in (a timeout belongs to the moment it started); bucket 0 starts at --t0, an
// epoch time in ms. Buckets that are over go to the parent over IPC (a late failure may send an index
// again). It stops on the message 'stop', at --max-ms at the latest, and at once when the parent goes away.
// With --think-ms=N each client pauses a random 0..N ms after every answer (its connection stays idle in the
// agent's pool meanwhile): clients that send on a kept-alive connection at any moment, not only right after
// an answer.
// With --detail, a reset says how it came and on which connection: `ECONNRESET hang-up` (the server closed
// the connection before an answer: FIN, or RST after it), `ECONNRESET rst` (a reset while reading),
// `ECONNRESET mid-answer` (the connection ended in the middle of the answer), each
// with `reused` (a kept-alive connection that had answered before) or `new` (req.reusedSocket is not
// that: it stays false when the agent hands a socket straight to a queued request).
import http from 'node:http';
import { parseArgs } from 'node:util';
import { createHistogram, recordUs } from './lib/histogram.mjs';

const REQUEST_TIMEOUT_MS = 10_000;

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    connections: { type: 'string', default: '50' },
    t0: { type: 'string' },
    'bucket-ms': { type: 'string', default: '100' },
    'max-ms': { type: 'string', default: '60000' },
    'think-ms': { type: 'string', default: '0' },
    detail: { type: 'boolean', default: false },
  },
});
const port = Number(values.port);
const connections = Number(values.connections);
const t0 = Number(values.t0);
const BUCKET_MS = Number(values['bucket-ms']);
const THINK_MS = Number(values['think-ms']);
const DETAIL = values.detail;
const now = () => performance.timeOrigin + performance.now();

const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const buckets = new Map();
let running = true;

function bucketAt(time) {
  const index = Math.floor((time - t0) / BUCKET_MS);
  let bucket = buckets.get(index);
  if (!bucket) {
    bucket = { index, ok: 0, errors: {}, connects: 0, latency: createHistogram() };
    buckets.set(index, bucket);
  }
  return bucket;
}

const ANSWERED = Symbol('answered');

function reasonOf(error, req, during) {
  const code = error.code ?? error.message;
  if (!DETAIL || code !== 'ECONNRESET') return code;
  const how = during ?? (error.message === 'socket hang up' ? 'hang-up' : 'rst');
  return `${code} ${how} ${req.socket?.[ANSWERED] ? 'reused' : 'new'}`;
}

function request() {
  return new Promise((resolve) => {
    const started = now();
    let settled = false;
    const settle = (error) => {
      if (settled) return;
      settled = true;
      const ended = now();
      if (error) {
        const bucket = bucketAt(started);
        bucket.errors[error] = (bucket.errors[error] ?? 0) + 1;
      } else {
        const bucket = bucketAt(ended);
        bucket.ok++;
        recordUs(bucket.latency, (ended - started) * 1000);
      }
      resolve();
    };
    const req = http.get(
      { host: '127.0.0.1', port, path: '/', agent, timeout: REQUEST_TIMEOUT_MS },
      (res) => {
        res.resume();
        res.socket[ANSWERED] = true;
        res.on('end', () => settle(res.statusCode === 200 ? undefined : `HTTP ${res.statusCode}`));
        res.on('error', (error) => settle(reasonOf(error, req, 'mid-answer')));
      },
    );
    // A socket still connecting is a new connection (the agent reuses connected ones).
    req.on('socket', (socket) => {
      if (socket.connecting) bucketAt(now()).connects++;
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (error) => settle(reasonOf(error, req)));
  });
}

function flush(before) {
  for (const [index, bucket] of buckets) {
    if (index >= before) continue;
    buckets.delete(index);
    process.send({ type: 'bucket', ...bucket });
  }
}

const loops = Array.from({ length: connections }, async () => {
  while (running) {
    await request();
    if (THINK_MS > 0 && running)
      await new Promise((resolve) => setTimeout(resolve, Math.random() * THINK_MS));
  }
});
const flushTimer = setInterval(() => flush(Math.floor((now() - t0) / BUCKET_MS)), BUCKET_MS);

async function stop() {
  if (!running) return;
  running = false;
  clearTimeout(deadline);
  await Promise.all(loops); // each loop ends with its request in flight: at most REQUEST_TIMEOUT_MS
  clearInterval(flushTimer);
  agent.destroy();
  flush(Number.POSITIVE_INFINITY);
  process.send({ type: 'done' }, () => process.exit(0));
}

const deadline = setTimeout(stop, Number(values['max-ms']));
process.on('message', (message) => message === 'stop' && stop());
process.on('disconnect', () => process.exit(1));
