// The load for the throughput benchmark: wrk when it is installed (C, one epoll loop per thread, so it
// leaves most of the 2 cores to the server), else bench/load-worker.mjs (Node, which needs about a core
// itself and caps what can be measured). Both keep `connections` keep-alive connections busy with GET /
// on 127.0.0.1; a warm-up first, then a measured window of durationMs.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { mergeHistograms, summarizeHistogram } from './histogram.mjs';
import { BUCKET_MS, startLoad } from './load.mjs';
import { now, run } from './proc.mjs';

// wrk calls done() once at the end: print the summary as one JSON line (latencies are in µs).
const WRK_REPORT_LUA = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH_JSON {"requests":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
`;

function wrkVersion() {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'pipe' });
  } catch (error) {
    // wrk --version prints its banner and exits 1; a missing wrk throws ENOENT.
    if (error.code === 'ENOENT') return undefined;
    return /^wrk (\S+)/.exec(String(error.stdout))?.[1] ?? 'unknown';
  }
  return 'unknown';
}

function createWrk({ version, tmp, connections, threads }) {
  const script = join(tmp, 'wrk-report.lua');
  writeFileSync(script, WRK_REPORT_LUA);
  const wrk = async (port, seconds, extra = []) => {
    const args = [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, ...extra, `http://127.0.0.1:${port}/`];
    const result = await run('wrk', args, { timeoutMs: (seconds + 30) * 1000 });
    if (result.code !== 0) throw new Error(`wrk ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
    return result;
  };
  return {
    name: `wrk ${version} -t${threads} -c${connections}`,
    async measure(port, { warmupMs, durationMs }) {
      if (warmupMs) await wrk(port, Math.max(1, Math.round(warmupMs / 1000)));
      const { stdout } = await wrk(port, Math.max(1, Math.round(durationMs / 1000)), ['-s', script]);
      const line = stdout.split('\n').find((l) => l.startsWith('BENCH_JSON '));
      if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
      const r = JSON.parse(line.slice('BENCH_JSON '.length));
      const errors = Object.fromEntries(
        ['connect', 'read', 'write', 'status', 'timeout'].filter((k) => r[k]).map((k) => [k, r[k]]),
      );
      return {
        requests: r.requests,
        rps: r.requests / (r.durationUs / 1e6),
        errors,
        p50: r.p50Us / 1000,
        p99: r.p99Us / 1000,
        max: r.maxUs / 1000,
      };
    },
  };
}

function createNodeLoad({ connections }) {
  return {
    name: `bench/load-worker.mjs (Node ${process.version}) -c${connections}`,
    async measure(port, { warmupMs, durationMs }) {
      const t0 = now();
      const load = startLoad({ port, connections, t0, maxMs: warmupMs + durationMs + 30_000 });
      await sleep(warmupMs + durationMs);
      const buckets = (await load.stop()).filter(
        (b) => b.index * BUCKET_MS >= warmupMs && (b.index + 1) * BUCKET_MS <= warmupMs + durationMs,
      );
      const errors = {};
      let ok = 0;
      for (const b of buckets) {
        ok += b.ok;
        for (const [code, n] of Object.entries(b.errors)) errors[code] = (errors[code] ?? 0) + n;
      }
      const failed = Object.values(errors).reduce((sum, n) => sum + n, 0);
      const { p50, p99, max } = summarizeHistogram(mergeHistograms(buckets.map((b) => b.latency)));
      const windowMs = buckets.length * BUCKET_MS;
      return { requests: ok + failed, rps: windowMs ? (ok * 1000) / windowMs : 0, errors, p50, p99, max };
    },
  };
}

/** `kind` is 'auto' (wrk if installed), 'wrk' or 'node'. */
export function createLoadGenerator({ kind = 'auto', tmp, connections, threads }) {
  const version = kind === 'node' ? undefined : wrkVersion();
  if (kind === 'wrk' && !version)
    throw new Error('--load=wrk, but wrk is not installed (apt-get install wrk)');
  return version ? createWrk({ version, tmp, connections, threads }) : createNodeLoad({ connections });
}
