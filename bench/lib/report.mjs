// Numbers from runs: requests, failures by code, latency overall / during restarts / outside, restart times.
// "During a restart" is every 100 ms bucket that overlaps [restart sent, restart done + 500 ms].
import { mergeHistograms, summarizeHistogram } from './histogram.mjs';
import { BUCKET_MS } from './load.mjs';

const RESTART_TAIL_MS = 500;
const COUNT_COLUMNS =
  'system,round,requests,req/s,failed,failed by code,new conns,restart time median ms,restart time max ms,start→1st answer ms';
const LATENCY_COLUMNS =
  'system,round,p50 ms,p99 ms,max ms,in restarts p50,in restarts p99,in restarts max,outside p50,outside p99,outside max';

export const median = (values) => {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/** The q-quantile (0..1) of a few values, interpolated between the two nearest (q = 0.5 is the median). */
export const quantile = (values, q) => {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  return sorted[low] + (sorted[Math.min(low + 1, sorted.length - 1)] - sorted[low]) * (at - low);
};

function inRestart(bucket, restarts) {
  const start = bucket.index * BUCKET_MS;
  return restarts.some((r) => start < r.doneMs + RESTART_TAIL_MS && start + BUCKET_MS > r.sentMs);
}

/** Summary over one or more runs of the same system (rounds are pooled). */
export function summarize(runs) {
  const errors = {};
  const all = [];
  const during = [];
  const outside = [];
  let ok = 0;
  let connects = 0;
  let loadMs = 0;
  for (const run of runs) {
    loadMs += run.loadMs;
    for (const bucket of run.buckets) {
      ok += bucket.ok;
      connects += bucket.connects;
      for (const [code, n] of Object.entries(bucket.errors)) errors[code] = (errors[code] ?? 0) + n;
      all.push(bucket.latency);
      (inRestart(bucket, run.restarts) ? during : outside).push(bucket.latency);
    }
  }
  const failed = Object.values(errors).reduce((sum, n) => sum + n, 0);
  const restartMs = runs.flatMap((run) => run.restarts.map((r) => r.doneMs - r.sentMs));
  const readyMs = runs
    .flatMap((run) => run.restarts.filter((r) => r.readyMs !== undefined))
    .map((r) => r.readyMs - r.sentMs);
  return {
    requests: ok + failed,
    failed,
    errors,
    connects,
    rps: loadMs ? ((ok + failed) * 1000) / loadMs : 0,
    startMs: median(runs.map((run) => run.startMs)),
    overall: summarizeHistogram(mergeHistograms(all)),
    during: summarizeHistogram(mergeHistograms(during)),
    outside: summarizeHistogram(mergeHistograms(outside)),
    restartMs: {
      median: median(restartMs),
      max: restartMs.length ? Math.max(...restartMs) : null,
      all: restartMs,
    },
    readyMs: readyMs.length ? { median: median(readyMs), max: Math.max(...readyMs) } : null,
  };
}

const ms = (value, digits = 1) => (value === null || value === undefined ? '–' : value.toFixed(digits));
const errorText = (errors) =>
  Object.entries(errors)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ') || '–';
export const table = (header, rows) =>
  [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');

/** Two markdown tables (counts and restart times; latency), one row per summary. */
export function formatTables(rows) {
  const counts = table(
    COUNT_COLUMNS.split(','),
    rows.map(({ label, round, s }) => [
      label,
      round,
      s.requests,
      Math.round(s.rps),
      s.failed,
      errorText(s.errors),
      s.connects,
      ms(s.restartMs.median, 0),
      ms(s.restartMs.max, 0),
      ms(s.startMs, 0),
    ]),
  );
  const latency = table(
    LATENCY_COLUMNS.split(','),
    rows.map(({ label, round, s }) =>
      [label, round].concat(
        [s.overall, s.during, s.outside].flatMap((l) => [ms(l.p50, 2), ms(l.p99, 2), ms(l.max, 1)]),
      ),
    ),
  );
  return `${counts}\n\n${latency}`;
}
