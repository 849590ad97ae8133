// Hot restarts in a row under light keep-alive load, watching the supervisor for leaks: its open fds, its
// RSS, and the processes below it (exactly one serving child and the death watcher; no zombie). Used by
// test/supervise/soak.test.mjs (50 restarts) and bench/soak.mjs (1,000).
import { readdirSync, readFileSync } from 'node:fs';
import { startLoad } from './load.mjs';
import { descendants, procStat, sleep } from './tsdaemon.mjs';

export function fdCount(pid) {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export function rssKiB(pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1] ?? 0);
}

/**
 * daemon: a started Daemon (test/helpers/tsdaemon.mjs) whose generation 1 is ready, serving on port.
 * Resolves to { samples: [{ restart, fds, rssKiB, ms }], load: stats, processes, zombies }.
 */
export async function soak(daemon, port, { restarts, connections = 2, onSample = () => {} }) {
  const load = startLoad({ port, connections });
  const samples = [];
  let stats;
  try {
    await sleep(200);
    const sample = (restart, ms) => {
      const entry = { restart, fds: fdCount(daemon.pid), rssKiB: rssKiB(daemon.pid), ms };
      samples.push(entry);
      onSample(entry);
    };
    sample(0, 0);
    for (let gen = 2; gen <= restarts + 1; gen++) {
      const started = performance.now();
      daemon.signal('SIGHUP');
      await daemon.waitFor(new RegExp(`generation ${gen} ready`), 20_000);
      await daemon.waitFor(new RegExp(`generation ${gen - 1} exited`), 20_000);
      sample(gen - 1, performance.now() - started);
      // Forget the log so far: a thousand restarts' worth of regex scans would slow the loop down.
      if (daemon.output.length > 1_000_000) daemon.output = daemon.output.slice(-10_000);
    }
  } finally {
    stats = await load.stop();
  }
  await sleep(300); // the old generation's last exit is reaped
  const below = descendants(daemon.pid);
  return {
    samples,
    load: stats,
    processes: below,
    zombies: below.filter((pid) => procStat(pid)?.state === 'Z'),
  };
}
