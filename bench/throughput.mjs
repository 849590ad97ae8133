// Throughput benchmark: req/s and latency of bench/apps/hello.js bare (the app listens on PORT itself)
// against the same app under tsdaemon (no proxy hop: the app accepts on the inherited socket), and
// `tsdaemon --workers 2` against PM2 cluster mode with 2 instances (its master accepts and passes each
// connection to a worker). Not part of `npm test`.
//
//   npm run bench:throughput -- [--rounds 3] [--duration 5] [--warmup 1] [--connections 50] [--threads 1]
//                               [--load auto|wrk|node] [--systems bare,tsdaemon,tsdaemon-w2,pm2-cluster]
//                               [--out throughput]
//
// --systems may also name tsdaemon-nopreload: tsdaemon --no-preload around bench/apps/serve-fds.js, which
// serves the inherited fd itself, to tell the cost of the preload's per-request drain bookkeeping from the
// cost of being supervised.
// Each round runs every system once, in the order given, so the pairs alternate (A, B, A, B, …) on a
// noisy machine; a ratio is taken within each round, and the table shows the median of those ratios.
// Writes docs/bench-throughput.json, or docs/bench-<--out>.json (a table says it all: no plot).
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createCommandSystem } from './lib/command-system.mjs';
import { createLoadGenerator } from './lib/load-generator.mjs';
import { createPm2System } from './lib/pm2-system.mjs';
import { cpuMs, freePort, waitForHttp } from './lib/proc.mjs';
import { median, table } from './lib/report.mjs';
import { failed, openSession, ROOT, writeResults } from './lib/session.mjs';
import { runThenStop } from './lib/system-run.mjs';
import { createTsdaemonSystem } from './lib/tsdaemon-system.mjs';

const HELLO = join(ROOT, 'bench', 'apps', 'hello.js');
const SERVE_FDS = join(ROOT, 'bench', 'apps', 'serve-fds.js');
const SYSTEMS = ['bare', 'tsdaemon', 'tsdaemon-w2', 'pm2-cluster', 'tsdaemon-nopreload'];
const DEFAULT_SYSTEMS = SYSTEMS.slice(0, 4);
/** Ratios reported: [numerator, denominator, goal or undefined]. */
const PAIRS = [
  ['tsdaemon', 'bare', 0.98],
  ['tsdaemon-w2', 'pm2-cluster', undefined],
  ['tsdaemon-w2', 'bare', undefined],
  ['pm2-cluster', 'bare', undefined],
  ['tsdaemon-nopreload', 'bare', undefined],
  ['tsdaemon', 'tsdaemon-nopreload', undefined],
];
const START_TIMEOUT_MS = 20_000;

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string', default: '3' },
      duration: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      connections: { type: 'string', default: '50' },
      threads: { type: 'string', default: '1' },
      load: { type: 'string', default: 'auto' },
      systems: { type: 'string', default: DEFAULT_SYSTEMS.join(',') },
      out: { type: 'string', default: 'throughput' },
    },
  });
  const number = (name, min, integer = true) => {
    const value = Number(values[name]);
    if (!(integer ? Number.isInteger(value) : Number.isFinite(value)) || value < min)
      throw new Error(
        `--${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}, not ${values[name]}`,
      );
    return value;
  };
  const systems = values.systems.split(',').filter(Boolean);
  const unknown = systems.filter((name) => !SYSTEMS.includes(name));
  if (unknown.length || !systems.length)
    throw new Error(`--systems takes ${SYSTEMS.join(', ')} (comma-separated), not ${values.systems}`);
  if (!/^[\w-]+$/.test(values.out))
    throw new Error(`--out takes a name like throughput-2, not ${values.out}`);
  if (!['auto', 'wrk', 'node'].includes(values.load))
    throw new Error(`--load takes auto, wrk or node, not ${values.load}`);
  return {
    rounds: number('rounds', 1),
    durationMs: number('duration', 1, false) * 1000,
    warmupMs: number('warmup', 0, false) * 1000,
    connections: number('connections', 1),
    threads: number('threads', 1),
    load: values.load,
    systems,
    out: values.out,
  };
}

function createSystem(name, { build, pm2, tmp, round }) {
  switch (name) {
    case 'bare':
      return createCommandSystem({ name, argv: [process.execPath, HELLO] });
    case 'tsdaemon':
      return createTsdaemonSystem({ build });
    case 'tsdaemon-w2':
      return createTsdaemonSystem({ build, workers: 2, name });
    case 'tsdaemon-nopreload':
      // The app serves the inherited fd itself: tsdaemon adds nothing to the app's process.
      return createTsdaemonSystem({ build, app: SERVE_FDS, args: ['--no-preload'], name });
    case 'pm2-cluster':
      return createPm2System({ bin: pm2.bin, home: join(tmp, `pm2-home-${round}`), name, instances: 2 });
  }
}

/** One run: start, wait for an answer, let it settle, measure, stop. */
async function runOne(system, load, { round, warmupMs, durationMs }) {
  const port = await freePort();
  const result = { system: system.name, round, loadavg: os.loadavg()[0] };
  return runThenStop(system, result, async () => {
    const { pid } = await system.start(port);
    await waitForHttp(port, START_TIMEOUT_MS);
    await sleep(200);
    // The supervisor's own CPU while it is under load: tsdaemon only waits; PM2's master accepts.
    // And how the app processes share the work (the kernel spreads connections over tsdaemon's workers;
    // PM2's master deals them out in turn).
    const supervisor = system.name === 'bare' ? undefined : pid;
    const workers = system.name === 'bare' ? [pid] : system.workerPids();
    const before = [supervisor, ...workers].map((p) => p && cpuMs(p));
    Object.assign(result, await load.measure(port, { warmupMs, durationMs }));
    const pct = (p, i) => ((cpuMs(p) - before[i]) / (warmupMs + durationMs)) * 100;
    if (supervisor) result.supervisorCpuPct = pct(supervisor, 0);
    result.workerCpuPct = workers.map((p, i) => pct(p, i + 1));
  });
}

const fixed = (value, digits) => (value === null || value === undefined ? '–' : value.toFixed(digits));

function report(runs, systems) {
  const ok = runs.filter((run) => !run.error);
  const bySystem = Object.fromEntries(systems.map((name) => [name, ok.filter((r) => r.system === name)]));
  const rows = systems.map((name) => {
    const mine = bySystem[name];
    const errors = mine.reduce((sum, r) => sum + Object.values(r.errors).reduce((a, n) => a + n, 0), 0);
    return [
      name,
      mine.length,
      mine.map((r) => Math.round(r.rps)).join(', '),
      fixed(median(mine.map((r) => r.rps)), 0),
      fixed(median(mine.map((r) => r.p50)), 2),
      fixed(median(mine.map((r) => r.p99)), 2),
      errors,
      name === 'bare' ? '–' : fixed(median(mine.map((r) => r.supervisorCpuPct)), 1),
      mine.map((r) => r.workerCpuPct.map((v) => v.toFixed(0)).join('+')).join(', '),
    ];
  });
  const perSystem = table(
    'system,runs,req/s per round,req/s median,p50 ms,p99 ms,errors,supervisor CPU %,app CPU % per round'.split(
      ',',
    ),
    rows,
  );
  const ratios = [];
  for (const [a, b, goal] of PAIRS) {
    if (!bySystem[a]?.length || !bySystem[b]?.length) continue;
    const perRound = [];
    for (const run of bySystem[a]) {
      const other = bySystem[b].find((r) => r.round === run.round);
      if (other) perRound.push(run.rps / other.rps);
    }
    const p99 = median(bySystem[a].map((r) => r.p99)) / median(bySystem[b].map((r) => r.p99));
    const ratio = median(perRound);
    ratios.push({ a, b, goal, perRound, ratio, p99Ratio: p99 });
  }
  const ratioTable = table(
    'ratio,per round,median,goal,p99 ratio'.split(','),
    ratios.map(({ a, b, goal, perRound, ratio, p99Ratio }) => [
      `${a} / ${b}`,
      perRound.map((v) => v.toFixed(3)).join(', '),
      `**${ratio.toFixed(3)}**`,
      goal === undefined ? '–' : `≥ ${goal} ${ratio >= goal ? '(met)' : '(missed)'}`,
      fixed(p99Ratio, 2),
    ]),
  );
  return { tables: `${perSystem}\n\n${ratioTable}`, ratios };
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const session = await openSession('throughput', { pm2: options.systems.includes('pm2-cluster') });
  const { tmp, build, pm2 } = session;
  const runs = [];
  try {
    const load = createLoadGenerator({ kind: options.load, tmp, ...options });
    console.error(
      `load generator: ${load.name}; ${options.rounds} round(s) × ${options.systems.join(', ')}: ${options.warmupMs / 1000} s warm-up + ${options.durationMs / 1000} s measured each`,
    );
    for (let round = 1; round <= options.rounds; round++) {
      for (const name of options.systems) {
        const system = createSystem(name, { build, pm2, tmp, round });
        const run = await runOne(system, load, { round, ...options });
        runs.push(run);
        console.error(
          run.error
            ? `round ${round} ${name}: ERROR ${run.error}`
            : `round ${round} ${name}: ${Math.round(run.rps)} req/s, p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms${run.left ? `; LEFT BEHIND ${run.left}` : ''}`,
        );
      }
    }
    const { tables, ratios } = report(runs, options.systems);
    console.log(`load generator: ${load.name}\n\n${tables}`);
    const result = {
      machine: session.machine,
      commit: session.commit,
      options,
      loadGenerator: load.name,
      pm2Version: pm2?.version,
      ratios,
      runs,
      tables,
    };
    if (runs.some((run) => !run.error)) writeResults(options.out, result);
    if (runs.some((run) => run.error || run.left)) process.exitCode = 1;
  } finally {
    await session.close();
  }
}

main().catch(failed('throughput'));
