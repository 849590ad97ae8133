import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createCommandSystem } from './lib/command-system.mjs';
import { measureFootprint, POLL_MS } from './lib/footprint-run.mjs';
import { createPm2System } from './lib/pm2-system.mjs';
import { median, quantile, table } from './lib/report.mjs';
import { failed, openSession, ROOT, writeResults } from './lib/session.mjs';
import { createTsdaemonSystem } from './lib/tsdaemon-system.mjs';

const HELLO = join(ROOT, 'bench', 'apps', 'hello.js');
const SYSTEMS = ['bare', 'tsdaemon', 'pm2-runtime', 'idle-node', 'pm2-daemon'];
const GOAL_RSS_MIB = 45;
const GOAL_START_OVER_BARE_MS = 100;
/** What each system's "supervisor" is, for the RSS table. */
const MEASURED = {
  bare: 'the app itself (node hello.js)',
  tsdaemon: 'the tsdaemon process (not its child)',
  'pm2-runtime': 'the pm2-runtime process (PM2 runs in it, no daemon)',
  'idle-node': "node -e 'setInterval(()=>{},1e6)'",
  'pm2-daemon': "PM2's God daemon after `pm2 start app` (fork mode)",
};

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string', default: '5' },
      idle: { type: 'string', default: '2' },
      systems: { type: 'string', default: SYSTEMS.join(',') },
    },
  });
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`--rounds must be an integer ≥ 1, not ${values.rounds}`);
  const idleMs = Number(values.idle) * 1000;
  if (!(idleMs >= 0)) throw new Error(`--idle must be seconds ≥ 0, not ${values.idle}`);
  const systems = values.systems.split(',').filter(Boolean);
  const unknown = systems.filter((name) => !SYSTEMS.includes(name));
  if (unknown.length || !systems.length)
    throw new Error(`--systems takes ${SYSTEMS.join(', ')} (comma-separated), not ${values.systems}`);
  return { rounds, idleMs, systems };
}

function createSystem(name, { build, pm2, tmp, round }) {
  switch (name) {
    case 'bare':
      return createCommandSystem({ name, argv: [process.execPath, HELLO] });
    case 'tsdaemon':
      return createTsdaemonSystem({ build });
    case 'pm2-runtime':
      return createCommandSystem({
        name,
        argv: [process.execPath, pm2.runtimeBin, HELLO],
        env: { PM2_HOME: join(tmp, `pm2-runtime-home-${round}`) },
      });
    case 'idle-node':
      return createCommandSystem({ name, argv: [process.execPath, '-e', 'setInterval(()=>{},1e6)'] });
    case 'pm2-daemon':
      return createPm2System({
        bin: pm2.bin,
        home: join(tmp, `pm2-home-${round}`),
        mode: 'fork',
        instances: 1,
        name,
      });
  }
}

const fixed = (value, digits = 1) => (value === null || value === undefined ? '–' : value.toFixed(digits));

/** Per-round differences a − b of a field, for the systems present in both. */
function differences(runs, a, b, field) {
  const out = [];
  for (const run of runs.filter((r) => r.system === a && r[field] !== undefined)) {
    const other = runs.find((r) => r.system === b && r.round === run.round && r[field] !== undefined);
    if (other) out.push(run[field] - other[field]);
  }
  return out;
}

function report(runs, systems) {
  const ok = runs.filter((run) => !run.error);
  const of = (name, field) =>
    ok.filter((r) => r.system === name && r[field] !== undefined).map((r) => r[field]);
  const rss = table(
    'system,what is measured,RSS MiB median,p90,min–max,app RSS MiB median'.split(','),
    systems.map((name) => {
      const values = of(name, 'rssMiB');
      return [
        name,
        MEASURED[name],
        `**${fixed(median(values))}**`,
        fixed(quantile(values, 0.9)),
        values.length ? `${fixed(Math.min(...values))}–${fixed(Math.max(...values))}` : '–',
        fixed(median(of(name, 'appRssMiB'))),
      ];
    }),
  );
  const start = table(
    'system,start→first answer ms median,p90,min–max'.split(','),
    systems
      .filter((name) => of(name, 'firstAnswerMs').length)
      .map((name) => {
        const values = of(name, 'firstAnswerMs');
        return [
          name,
          `**${fixed(median(values), 0)}**`,
          fixed(quantile(values, 0.9), 0),
          `${fixed(Math.min(...values), 0)}–${fixed(Math.max(...values), 0)}`,
        ];
      }),
  );
  const goals = [];
  const comparisons = [];
  const compare = (a, b, field, unit, goal) => {
    const diffs = differences(ok, a, b, field);
    if (!diffs.length) return;
    const entry = { a, b, field, median: median(diffs), p90: quantile(diffs, 0.9), all: diffs, goal };
    comparisons.push(entry);
    goals.push([
      `${a} − ${b}`,
      field === 'rssMiB' ? 'RSS' : 'start→first answer',
      diffs.map((d) => fixed(d, unit === 'ms' ? 0 : 1)).join(', '),
      `**${fixed(entry.median, unit === 'ms' ? 0 : 1)} ${unit}**`,
      `${fixed(entry.p90, unit === 'ms' ? 0 : 1)} ${unit}`,
      goal ?? '–',
    ]);
  };
  compare('tsdaemon', 'idle-node', 'rssMiB', 'MiB');
  compare('tsdaemon', 'pm2-daemon', 'rssMiB', 'MiB');
  compare('tsdaemon', 'pm2-runtime', 'rssMiB', 'MiB');
  const tsdaemonRss = median(of('tsdaemon', 'rssMiB'));
  compare('tsdaemon', 'bare', 'firstAnswerMs', 'ms', `≤ ${GOAL_START_OVER_BARE_MS} ms`);
  compare('pm2-runtime', 'bare', 'firstAnswerMs', 'ms');
  compare('tsdaemon', 'pm2-runtime', 'firstAnswerMs', 'ms');
  const startDiff = comparisons.find((c) => c.a === 'tsdaemon' && c.b === 'bare');
  const verdicts = [];
  if (tsdaemonRss !== null)
    verdicts.push(
      `supervisor RSS ${fixed(tsdaemonRss)} MiB: goal ≤ ${GOAL_RSS_MIB} MiB ${tsdaemonRss <= GOAL_RSS_MIB ? 'met' : 'MISSED'}`,
    );
  if (startDiff)
    verdicts.push(
      `start→first answer bare + ${fixed(startDiff.median, 0)} ms: goal ≤ bare + ${GOAL_START_OVER_BARE_MS} ms ${startDiff.median <= GOAL_START_OVER_BARE_MS ? 'met' : 'MISSED'}`,
    );
  const diffTable = table('difference,of,per round,median,p90,goal'.split(','), goals);
  const phases = ok.filter((r) => r.phases);
  const phaseTable = phases.length
    ? `\n\ntsdaemon's start, ms after spawn (medians): first log line (sockets bound) ${median(phases.map((r) => r.phases.firstLogMs))}, child spawned ${median(phases.map((r) => r.phases.spawnMs))}, child ready ${median(phases.map((r) => r.phases.readyMs))}, first answer ${fixed(median(phases.map((r) => r.firstAnswerMs)), 0)}`
    : '';
  return {
    tables: `${rss}\n\n${start}\n\n${diffTable}${phaseTable}\n\n${verdicts.join('\n')}`,
    comparisons,
    verdicts,
  };
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const wantPm2 = options.systems.some((name) => name.startsWith('pm2'));
  const session = await openSession('footprint', { pm2: wantPm2 });
  const { tmp, build, pm2 } = session;
  const runs = [];
  try {
    console.error(
      `${options.rounds} round(s) × ${options.systems.join(', ')}; RSS read after ${options.idleMs / 1000} s idle; first answer polled every ${POLL_MS} ms`,
    );
    for (let round = 1; round <= options.rounds; round++) {
      for (const name of options.systems) {
        const system = createSystem(name, { build, pm2, tmp, round });
        const run = { round, ...(await measureFootprint(system, { idleMs: options.idleMs })) };
        runs.push(run);
        console.error(
          `round ${round} ${name}: ${run.error ? `ERROR ${run.error}` : `RSS ${fixed(run.rssMiB)} MiB${run.firstAnswerMs === undefined ? '' : `, first answer after ${fixed(run.firstAnswerMs, 0)} ms`}`}${run.left ? `; LEFT BEHIND ${run.left}` : ''}`,
        );
      }
    }
    const { tables, comparisons, verdicts } = report(runs, options.systems);
    console.log(tables);
    const result = {
      machine: session.machine,
      commit: session.commit,
      options,
      pm2Version: pm2?.version,
      comparisons,
      verdicts,
      runs,
      tables,
    };
    if (runs.some((run) => !run.error)) writeResults('footprint', result);
    if (runs.some((run) => run.error || run.left)) process.exitCode = 1;
  } finally {
    await session.close();
  }
}

main().catch(failed('footprint'));
