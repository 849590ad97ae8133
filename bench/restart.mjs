// Hot-restart benchmark: tsdaemon (SIGHUP) against PM2 cluster mode (`pm2 reload`) around the same
// hello-world app, under the same keep-alive load. Not part of `npm test`.
//
//   npm run bench:restart -- [--restarts 5] [--duration S] [--rounds 1] [--connections 50] [--systems tsdaemon,pm2]
//
// --duration is the seconds of load per run (default: 2 s warm-up + 2 s per restart); the restarts are
// spread evenly after the warm-up. The systems alternate (A, B, A, B, …) because the machine is noisy.
// Writes docs/bench-restart.json (the numbers) and docs/bench-restart.svg (the plot).
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { summarizeHistogram } from './lib/histogram.mjs';
import { BUCKET_MS } from './lib/load.mjs';
import { plotSvg } from './lib/plot.mjs';
import { createPm2System, installPm2 } from './lib/pm2-system.mjs';
import { pidsWithEnv, waitGone } from './lib/proc.mjs';
import { formatTables, summarize } from './lib/report.mjs';
import { runScenario } from './lib/scenario.mjs';
import { createTsdaemonSystem } from './lib/tsdaemon-system.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const WARMUP_MS = 2000;
const DEFAULT_INTERVAL_MS = 2000;
const SYSTEMS = ['tsdaemon', 'pm2'];
const RUN_MARKER = 'BENCH_RESTART_RUN'; // not TSDAEMON_*: tsdaemon reads those as options

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      restarts: { type: 'string', default: '5' },
      duration: { type: 'string' },
      rounds: { type: 'string', default: '1' },
      connections: { type: 'string', default: '50' },
      systems: { type: 'string', default: SYSTEMS.join(',') },
    },
  });
  const count = (name, min) => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < min)
      throw new Error(`--${name} must be an integer ≥ ${min}, not ${JSON.stringify(values[name])}`);
    return value;
  };
  const restarts = count('restarts', 0);
  const durationMs =
    values.duration === undefined
      ? WARMUP_MS + restarts * DEFAULT_INTERVAL_MS
      : Number(values.duration) * 1000;
  if (!(durationMs > WARMUP_MS))
    throw new Error(`--duration must be more than ${WARMUP_MS / 1000} s, not ${values.duration}`);
  const systems = values.systems.split(',').filter(Boolean);
  const unknown = systems.filter((name) => !SYSTEMS.includes(name));
  if (unknown.length || !systems.length)
    throw new Error(
      `--systems takes ${SYSTEMS.join(', ')} (comma-separated), not ${JSON.stringify(values.systems)}`,
    );
  return {
    restarts,
    durationMs,
    intervalMs: restarts ? (durationMs - WARMUP_MS) / restarts : 0,
    warmupMs: WARMUP_MS,
    rounds: count('rounds', 1),
    connections: count('connections', 1),
    systems,
  };
}

function machine() {
  return {
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model,
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    loadavg: os.loadavg().map((v) => Number(v.toFixed(2))),
  };
}

/** The commit measured, with `+dirty` when the working tree differs from it. */
function commit() {
  try {
    const git = (...args) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', 'src', 'bin') ? '+dirty' : ''}`;
  } catch {
    return undefined;
  }
}

/** What a run leaves for the JSON file: per-bucket numbers instead of histograms. */
function rawRun(run) {
  const { buckets = [], ...rest } = run;
  return {
    ...rest,
    buckets: buckets.map((b) => {
      const { p50, p99, max } = summarizeHistogram(b.latency);
      return { t: b.index * BUCKET_MS, ok: b.ok, errors: b.errors, connects: b.connects, p50, p99, max };
    }),
  };
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  if (!existsSync(join(ROOT, 'dist', 'tsdaemon.mjs')))
    throw new Error('dist/ is missing: run `npm run build` first');
  process.env[RUN_MARKER] = randomUUID(); // inherited by everything we start, so leftovers can be found
  const tmp = mkdtempSync(join(os.tmpdir(), 'tsdaemon-bench-'));
  const sweep = async () => {
    const pids = pidsWithEnv(RUN_MARKER, process.env[RUN_MARKER]);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {} // gone in between
    }
    await waitGone(pids, 3000);
    rmSync(tmp, { recursive: true, force: true });
    return pids;
  };
  process.once('SIGINT', () => sweep().then(() => process.exit(130)));

  const runs = [];
  let pm2;
  try {
    const info = machine();
    console.error(
      `machine: ${info.nproc} cpus (${info.cpu}), node ${info.node}, load ${info.loadavg.join(' ')}`,
    );
    // Other work on the checkout may rebuild dist/ mid-run: every run uses this one snapshot of the build.
    const build = join(tmp, 'tsdaemon');
    for (const part of ['bin', 'dist', 'package.json'])
      cpSync(join(ROOT, part), join(build, part), { recursive: true });
    if (options.systems.includes('pm2')) {
      console.error('installing pm2@latest into a temporary folder …');
      pm2 = await installPm2(join(tmp, 'pm2'));
      console.error(`pm2 ${pm2.version} installed in ${Math.round(pm2.installMs)} ms`);
    }
    const { restarts, durationMs, intervalMs } = options;
    console.error(
      `${options.rounds} round(s) × ${options.systems.join(', ')}: ${durationMs / 1000} s of load, ${restarts} restarts every ${intervalMs / 1000} s, ${options.connections} connections`,
    );
    for (let round = 1; round <= options.rounds; round++) {
      for (const name of options.systems) {
        const system =
          name === 'pm2'
            ? createPm2System({ bin: pm2.bin, home: join(tmp, `pm2-home-${round}`) })
            : createTsdaemonSystem({ build });
        const run = await runScenario(system, { round, ...options });
        runs.push(run);
        const s = run.buckets ? summarize([run]) : undefined;
        const times = run.restarts.map((r) => Math.round(r.doneMs - r.sentMs)).join(', ');
        const cli = run.info?.cliMs ? ` (pm2 CLI alone: ${Math.round(run.info.cliMs)} ms)` : '';
        console.error(
          `round ${round} ${name}: ${s ? `${s.requests} requests, ${s.failed} failed` : 'no load'}; restarts ${times || '–'} ms${cli}${run.error ? `; ERROR ${run.error}` : ''}${run.stop.left.length ? `; LEFT BEHIND ${run.stop.left}` : ''}`,
        );
      }
    }
    const report = { machine: info, options, commit: commit(), pm2Version: pm2?.version, summaries: {} };
    const rows = [];
    const measured = runs.filter((run) => run.buckets);
    for (const name of options.systems) {
      const mine = measured.filter((run) => run.system === name);
      if (!mine.length) continue;
      for (const run of mine) rows.push({ label: name, round: run.round, s: summarize([run]) });
      const all = summarize(mine);
      if (mine.length > 1) rows.push({ label: `**${name}**`, round: 'all', s: all });
      report.summaries[name] = all;
    }
    const tables = formatTables(rows);
    console.log(tables);
    for (const run of runs.filter((r) => r.error))
      console.log(
        `\n${run.system} round ${run.round} failed: ${run.error}\n${(run.log ?? []).slice(-15).join('\n')}`,
      );
    report.runs = runs.map(rawRun);
    report.tables = tables;
    if (measured.length) {
      mkdirSync(join(ROOT, 'docs'), { recursive: true });
      writeFileSync(join(ROOT, 'docs', 'bench-restart.json'), `${JSON.stringify(report, null, 1)}\n`);
      writeFileSync(join(ROOT, 'docs', 'bench-restart.svg'), plotSvg(measured));
      console.error('wrote docs/bench-restart.json and docs/bench-restart.svg');
    }
    if (runs.some((run) => run.error)) process.exitCode = 1;
  } finally {
    const left = await sweep();
    if (left.length) {
      console.error(`stopped processes the run had left behind: ${left.join(' ')}`);
      process.exitCode = 1;
    }
  }
}

main().catch((error) => {
  console.error(`bench:restart: ${error.message}`);
  process.exitCode = 1;
});
