// Hot-restart benchmark: tsdaemon (SIGHUP) against PM2 cluster mode (`pm2 reload`) around the same
// hello-world app, under the same keep-alive load. Not part of `npm test`.
//
//   npm run bench:restart -- [--restarts 5] [--duration S] [--rounds 1] [--connections 50] [--systems tsdaemon,pm2]
//
// --duration is the seconds of load per run (default: 2 s warm-up + 2 s per restart); the restarts are
// spread evenly after the warm-up. The systems alternate (A, B, A, B, …) because the machine is noisy.
// Writes docs/bench-restart.json (the numbers) and docs/bench-restart.svg (the plot).
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { summarizeHistogram } from './lib/histogram.mjs';
import { BUCKET_MS } from './lib/load.mjs';
import { plotSvg } from './lib/plot.mjs';
import { createPm2System } from './lib/pm2-system.mjs';
import { formatTables, summarize } from './lib/report.mjs';
import { runScenario } from './lib/scenario.mjs';
import { failed, openSession, writeResults } from './lib/session.mjs';
import { createTsdaemonSystem } from './lib/tsdaemon-system.mjs';

const WARMUP_MS = 2000;
const DEFAULT_INTERVAL_MS = 2000;
const SYSTEMS = ['tsdaemon', 'pm2'];

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
  const session = await openSession('restart', { pm2: options.systems.includes('pm2') });
  const { tmp, build, pm2 } = session;
  const runs = [];
  try {
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
    const report = {
      machine: session.machine,
      options,
      commit: session.commit,
      pm2Version: pm2?.version,
      summaries: {},
    };
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
    if (measured.length) writeResults('restart', report, { '': plotSvg(measured) });
    if (runs.some((run) => run.error)) process.exitCode = 1;
  } finally {
    await session.close();
  }
}

main().catch(failed('restart'));
