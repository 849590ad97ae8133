// The measuring side of the load: forks ../load-worker.mjs and collects its buckets.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitForExit } from './proc.mjs';

export const BUCKET_MS = 100;
const WORKER = fileURLToPath(new URL('../load-worker.mjs', import.meta.url));

/** Starts the load now; t0 is the epoch time (ms) that bucket 0 starts at. maxMs bounds it if stop() never comes. */
export function startLoad({ port, connections, t0, maxMs }) {
  const args = [`--port=${port}`, `--connections=${connections}`, `--t0=${t0}`];
  args.push(`--bucket-ms=${BUCKET_MS}`, `--max-ms=${Math.ceil(maxMs)}`);
  const child = fork(WORKER, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const buckets = [];
  const done = new Promise((resolve) => {
    child.on('message', (message) => {
      if (message.type === 'bucket') buckets.push(message);
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
      return buckets.sort((a, b) => a.index - b.index);
    },
  };
}
