// The measuring side of the load: forks ../load-worker.mjs and collects its buckets.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mergeHistograms } from './histogram.mjs';
import { waitForExit } from './proc.mjs';

export const BUCKET_MS = 100;
const WORKER = fileURLToPath(new URL('../load-worker.mjs', import.meta.url));

/** A failure that ends late (a timeout) is counted where it was sent: that bucket may arrive twice. */
function addBucket(buckets, bucket) {
  const earlier = buckets.get(bucket.index);
  if (!earlier) return buckets.set(bucket.index, bucket);
  earlier.ok += bucket.ok;
  earlier.connects += bucket.connects;
  for (const [code, n] of Object.entries(bucket.errors))
    earlier.errors[code] = (earlier.errors[code] ?? 0) + n;
  earlier.latency = mergeHistograms([earlier.latency, bucket.latency]);
}

/**
 * Starts the load now; t0 is the epoch time (ms) that bucket 0 starts at. maxMs bounds it if stop() never
 * comes. thinkMs: each client pauses up to that long between requests. detail: resets are told apart by
 * kind and connection (see ../load-worker.mjs).
 */
export function startLoad({ port, connections, t0, maxMs, thinkMs = 0, detail = false }) {
  const args = [`--port=${port}`, `--connections=${connections}`, `--t0=${t0}`, `--think-ms=${thinkMs}`];
  if (detail) args.push('--detail');
  args.push(`--bucket-ms=${BUCKET_MS}`, `--max-ms=${Math.ceil(maxMs)}`);
  const child = fork(WORKER, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const buckets = new Map();
  const done = new Promise((resolve) => {
    child.on('message', (message) => {
      if (message.type === 'bucket') addBucket(buckets, message);
      else if (message.type === 'done') resolve();
    });
    child.on('exit', resolve);
  });
  return {
    pid: child.pid,
    /** Stops the clients (in-flight requests finish) and returns every bucket, in time order. */
    async stop() {
      if (child.connected) child.send('stop');
      await done;
      await waitForExit(child, 15_000);
      return [...buckets.values()].sort((a, b) => a.index - b.index);
    },
  };
}
