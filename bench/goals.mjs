// The supervisor's footprint goals in one run, each measured side by side with what it is compared to, alternating
// (A, B, A, B, …) because the machine is shared: the supervisor's RSS against an idle `node`, start to the
// first answered request against the bare app (with NODE_EXTRA_CA_CERTS unset and set to a real CA
// bundle), the Node preload's cost per child start, `tsdaemon status` against `node -e 0`, and 1,000 hot
// restarts of the hello app (RSS and restart time of each, plotted) plus a short throughput run against the
// bare app. tsdaemon is bin/tsdaemon run as a program, as an operator runs it. Prints the goals table and
// writes docs/bench-goals.json and docs/bench-goals.svg. Not part of `npm test`.
//
//   npm run bench:goals -- [--rounds 5] [--restarts 1000] [--runs 20] [--idle 2] [--no-throughput]
//                          [--baseline DIR]
//
// --baseline DIR: another build of tsdaemon (a folder with bin/, dist/, package.json, e.g. main's), measured
// in the same rounds (RSS, start, status, and hot restarts alternating with this build) for "no worse".
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { soak } from '../test/helpers/soak.mjs';
import { Daemon } from '../test/helpers/tsdaemon.mjs';
import { createCommandSystem } from './lib/command-system.mjs';
import { measureFootprint } from './lib/footprint-run.mjs';
import { plotXY } from './lib/plot.mjs';
import { freePort } from './lib/proc.mjs';
import { median, table } from './lib/report.mjs';
import { failed, openSession, ROOT, writeResults } from './lib/session.mjs';
import { createTsdaemonSystem } from './lib/tsdaemon-system.mjs';

const HELLO = join(ROOT, 'bench', 'apps', 'hello.js');
/** A real CA bundle for the "NODE_EXTRA_CA_CERTS set" runs (Debian's; the machine's own value if set). */
const CA_BUNDLE = process.env.NODE_EXTRA_CA_CERTS || '/etc/ssl/certs/ca-certificates.crt';
const GOALS = {
  rssAtStart: 1.15,
  rssAfterRestarts: 1.25,
  startOverBareMs: 60,
  preloadMs: 5,
  statusOverNodeMs: 20,
};
/** The values on main before this work (docs/benchmarks.md), for "no worse". */
const BEFORE = { restartMs: 111, throughput: 1.008 };

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string', default: '5' },
      restarts: { type: 'string', default: '1000' },
      runs: { type: 'string', default: '20' },
      idle: { type: 'string', default: '2' },
      'no-throughput': { type: 'boolean', default: false },
      baseline: { type: 'string' },
    },
  });
  const number = (name) => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} must be an integer ≥ 0`);
    return value;
  };
  return {
    rounds: number('rounds'),
    restarts: number('restarts'),
    runs: number('runs'),
    idleMs: Number(values.idle) * 1000,
    throughput: !values['no-throughput'],
    baseline: values.baseline,
  };
}

/** Run fn with NODE_EXTRA_CA_CERTS set (to CA_BUNDLE) or unset in this process's environment. */
async function withCa(ca, fn) {
  const saved = process.env.NODE_EXTRA_CA_CERTS;
  if (ca) process.env.NODE_EXTRA_CA_CERTS = CA_BUNDLE;
  else delete process.env.NODE_EXTRA_CA_CERTS;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
    else process.env.NODE_EXTRA_CA_CERTS = saved;
  }
}

/** Wall ms of one run of argv (spawned directly, output discarded). */
function wallMs(argv) {
  const started = performance.now();
  const result = spawnSync(argv[0], argv.slice(1), { stdio: 'ignore', env: process.env, timeout: 30_000 });
  if (result.status === null) throw new Error(`${argv.join(' ')}: ${result.signal ?? result.error}`);
  return performance.now() - started;
}

/** A and B alternately, runs times each; the median of A − B over the pairs. */
function pairedMs(a, b, runs) {
  wallMs(a);
  wallMs(b); // warm-up: page cache, code caches
  const diffs = [];
  const as = [];
  const bs = [];
  for (let i = 0; i < runs; i++) {
    const x = wallMs(a);
    const y = wallMs(b);
    as.push(x);
    bs.push(y);
    diffs.push(x - y);
  }
  return { a: median(as), b: median(bs), diff: median(diffs) };
}

/** Median time of restarts hot restarts of the hello app under bin (SIGHUP → old generation gone). */
async function restartMedianMs(bin, restarts) {
  const port = await freePort();
  const daemon = new Daemon([], {
    prefix: [bin, `--listen=127.0.0.1:${port}`, '--', process.execPath, HELLO],
    raw: true,
    env: { PORT: String(port) },
  });
  try {
    await daemon.waitFor(/generation 1 ready/, 20_000);
    const { samples } = await soak(daemon, port, { restarts });
    daemon.signal('SIGTERM');
    await daemon.exited;
    return median(samples.slice(1).map((s) => s.ms));
  } finally {
    await daemon.cleanup();
  }
}

const fixed = (v, digits = 1) => (v === undefined || v === null || Number.isNaN(v) ? '–' : v.toFixed(digits));
const verdict = (ok) => (ok === undefined ? '–' : ok ? 'met' : '**missed**');

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const session = await openSession('goals');
  const { build, tmp } = session;
  const bin = join(build, 'bin', 'tsdaemon');
  const result = { machine: session.machine, commit: session.commit, options, caBundle: CA_BUNDLE };
  try {
    // As after the first start on a machine: that start writes the code caches (dist/cache).
    spawnSync(bin, ['--ready=timer:10ms', '--', 'true'], { stdio: 'ignore' });
    spawnSync(bin, ['status', `--pidfile=${join(tmp, 'none.pid')}`], { stdio: 'ignore' });

    // 1. RSS and start, alternating idle node, bare app, tsdaemon; CA unset and set in turn.
    const runs = [];
    for (let round = 1; round <= options.rounds; round++) {
      for (const ca of [false, true]) {
        await withCa(ca, async () => {
          const systems = [
            [
              createCommandSystem({
                name: 'idle-node',
                argv: [process.execPath, '-e', 'setInterval(()=>{},1e6)'],
              }),
              false,
            ],
            [createCommandSystem({ name: 'bare', argv: [process.execPath, HELLO] }), true],
            [createTsdaemonSystem({ build }), true],
            ...(options.baseline
              ? [[createTsdaemonSystem({ build: options.baseline, name: 'baseline' }), true]]
              : []),
          ];
          for (const [system, serves] of systems) {
            const run = {
              round,
              ca,
              ...(await measureFootprint(system, { idleMs: options.idleMs, serves })),
            };
            runs.push(run);
            console.error(
              `round ${round} CA ${ca ? 'set' : 'unset'} ${run.system}: ${run.error ?? `RSS ${fixed(run.rssMiB)} MiB${run.firstAnswerMs === undefined ? '' : `, first answer ${fixed(run.firstAnswerMs, 0)} ms`}`}`,
            );
          }
        });
      }
    }
    result.runs = runs;
    const of = (system, ca, field) =>
      runs.filter((r) => r.system === system && r.ca === ca && r[field] !== undefined).map((r) => r[field]);
    const perRound = (ca, a, b, field, op) =>
      runs
        .filter((r) => r.system === a && r.ca === ca && r[field] !== undefined)
        .flatMap((r) => {
          const other = runs.find(
            (o) => o.system === b && o.ca === ca && o.round === r.round && o[field] !== undefined,
          );
          return other ? [op(r[field], other[field])] : [];
        });
    const byCa = {};
    for (const ca of [false, true]) {
      byCa[ca] = {
        idleRss: median(of('idle-node', ca, 'rssMiB')),
        tsRss: median(of('tsdaemon', ca, 'rssMiB')),
        rssRatio: median(perRound(ca, 'tsdaemon', 'idle-node', 'rssMiB', (x, y) => x / y)),
        bareStart: median(of('bare', ca, 'firstAnswerMs')),
        tsStart: median(of('tsdaemon', ca, 'firstAnswerMs')),
        startOverBare: median(perRound(ca, 'tsdaemon', 'bare', 'firstAnswerMs', (x, y) => x - y)),
        baselineRssRatio: median(perRound(ca, 'baseline', 'idle-node', 'rssMiB', (x, y) => x / y)),
        baselineStartOverBare: median(perRound(ca, 'baseline', 'bare', 'firstAnswerMs', (x, y) => x - y)),
      };
    }

    // 2. The preload per child start, and the control command, against node -e 0.
    const preload = join(build, 'dist', 'preload.cjs');
    const control = {};
    const pidfile = join(tmp, 'goals.pid');
    const port = await freePort();
    const daemon = new Daemon([], {
      prefix: [bin, `--listen=127.0.0.1:${port}`, `--pidfile=${pidfile}`, '--', process.execPath, HELLO],
      raw: true,
    });
    try {
      await daemon.waitFor(/generation 1 ready/, 20_000);
      for (const ca of [false, true]) {
        await withCa(ca, async () => {
          control[ca] = {
            preload: pairedMs(
              [process.execPath, `--require=${preload}`, '-e', '0'],
              [process.execPath, '-e', '0'],
              options.runs,
            ),
            status: pairedMs(
              [bin, 'status', `--pidfile=${pidfile}`],
              [process.execPath, '-e', '0'],
              options.runs,
            ),
          };
          console.error(
            `CA ${ca ? 'set' : 'unset'}: preload +${fixed(control[ca].preload.diff)} ms, status ${fixed(control[ca].status.a, 0)} ms against node -e 0 ${fixed(control[ca].status.b, 0)} ms`,
          );
        });
      }
    } finally {
      daemon.signal('SIGTERM');
      await daemon.exited;
      await daemon.cleanup();
    }
    result.control = control;

    // 3. Hot restarts of the hello app under light keep-alive load: RSS and restart time of each.
    let soakResult;
    if (options.restarts > 0) {
      const soakPort = await freePort();
      const soaker = new Daemon([], {
        prefix: [bin, `--listen=127.0.0.1:${soakPort}`, '--', process.execPath, HELLO],
        raw: true,
        env: { PORT: String(soakPort) },
      });
      try {
        await soaker.waitFor(/generation 1 ready/, 20_000);
        await sleep(options.idleMs);
        soakResult = await soak(soaker, soakPort, {
          restarts: options.restarts,
          onSample: (s) => {
            if (s.restart % 100 === 0)
              console.error(`restart ${s.restart}: RSS ${fixed(s.rssKiB / 1024)} MiB, ${s.fds} fds`);
          },
        });
        soaker.signal('SIGTERM');
        await soaker.exited;
      } finally {
        await soaker.cleanup();
      }
      const rssAt = (n) => (soakResult.samples.find((s) => s.restart === n)?.rssKiB ?? Number.NaN) / 1024;
      const machineCa = process.env.NODE_EXTRA_CA_CERTS !== undefined;
      result.soak = {
        ca: machineCa,
        failed: soakResult.load.failed,
        requests: soakResult.load.ok,
        rssMiB: {
          0: rssAt(0),
          1: rssAt(1),
          50: rssAt(50),
          200: rssAt(200),
          [options.restarts]: rssAt(options.restarts),
        },
        restartMsMedian: median(soakResult.samples.slice(1).map((s) => s.ms)),
        samples: soakResult.samples,
      };
    }

    // 3b. With a baseline: hot restarts of both, alternating (the soak above is this build's alone).
    if (options.baseline) {
      const pairs = [];
      for (let round = 0; round < 3; round++) {
        const mine = await restartMedianMs(bin, 20);
        const theirs = await restartMedianMs(join(options.baseline, 'bin', 'tsdaemon'), 20);
        pairs.push({ mine, theirs });
        console.error(
          `restarts, round ${round + 1}: this build ${fixed(mine, 0)} ms, baseline ${fixed(theirs, 0)} ms`,
        );
      }
      result.restartPairs = pairs;
    }

    // 4. Throughput against the bare app (bench/throughput.mjs, short).
    if (options.throughput) {
      const run = spawnSync(
        process.execPath,
        [
          join(ROOT, 'bench', 'throughput.mjs'),
          '--rounds',
          '3',
          '--duration',
          '3',
          '--warmup',
          '1',
          '--systems',
          'bare,tsdaemon',
          '--out',
          'throughput-goals',
        ],
        { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 },
      );
      const file = join(ROOT, 'docs', 'bench-throughput-goals.json');
      if (run.status === 0 && existsSync(file)) {
        const json = JSON.parse(readFileSync(file, 'utf8'));
        result.throughput = json.ratios?.find((r) => r.a === 'tsdaemon' && r.b === 'bare')?.ratio;
      }
    }

    // The table.
    const machineCa = result.soak?.ca ?? process.env.NODE_EXTRA_CA_CERTS !== undefined;
    const idleForSoak = byCa[machineCa].idleRss;
    const rows = [];
    const row = (measure, goal, unset, set, ok) => rows.push([measure, goal, unset, set, verdict(ok)]);
    const both = (f) => [f(byCa[false]), f(byCa[true])];
    const [rssU, rssS] = both((b) => b.rssRatio);
    row(
      'supervisor RSS 2 s after the first child is ready, × idle node',
      `≤ ${GOALS.rssAtStart} ×`,
      `${fixed(rssU, 2)} × (${fixed(byCa[false].tsRss)} / ${fixed(byCa[false].idleRss)} MiB)`,
      `${fixed(rssS, 2)} × (${fixed(byCa[true].tsRss)} / ${fixed(byCa[true].idleRss)} MiB)`,
      rssU <= GOALS.rssAtStart && rssS <= GOALS.rssAtStart,
    );
    if (result.soak) {
      for (const n of [200, options.restarts]) {
        const rss = result.soak.rssMiB[n];
        const ratio = (idle) => rss / idle;
        row(
          `supervisor RSS after ${n} hot restarts, × idle node (soak run with CA ${machineCa ? 'set' : 'unset'})`,
          `≤ ${GOALS.rssAfterRestarts} ×`,
          `${fixed(ratio(byCa[false].idleRss), 2)} × (${fixed(rss)} MiB)`,
          `${fixed(ratio(byCa[true].idleRss), 2)} × (${fixed(rss)} MiB)`,
          ratio(idleForSoak) <= GOALS.rssAfterRestarts,
        );
      }
    }
    row(
      'start → first answered request, − bare app',
      `≤ + ${GOALS.startOverBareMs} ms`,
      `+ ${fixed(byCa[false].startOverBare, 0)} ms (${fixed(byCa[false].tsStart, 0)} / ${fixed(byCa[false].bareStart, 0)})`,
      `+ ${fixed(byCa[true].startOverBare, 0)} ms (${fixed(byCa[true].tsStart, 0)} / ${fixed(byCa[true].bareStart, 0)})`,
      byCa[false].startOverBare <= GOALS.startOverBareMs && byCa[true].startOverBare <= GOALS.startOverBareMs,
    );
    if (result.soak)
      row(
        `hot restart (hello app), median of ${options.restarts}, SIGHUP → old generation gone`,
        `no worse than ${BEFORE.restartMs} ms`,
        machineCa ? '–' : `${fixed(result.soak.restartMsMedian, 0)} ms`,
        machineCa ? `${fixed(result.soak.restartMsMedian, 0)} ms` : '–',
        result.soak.restartMsMedian <= BEFORE.restartMs,
      );
    if (result.throughput !== undefined)
      row(
        'throughput vs the bare app (wrk -c50, 3 rounds of 3 s)',
        `no worse than ${BEFORE.throughput}`,
        machineCa ? '–' : fixed(result.throughput, 3),
        machineCa ? fixed(result.throughput, 3) : '–',
        result.throughput >= BEFORE.throughput - 0.02,
      );
    row(
      'preload per child start: node --require=preload -e 0 − node -e 0',
      `≤ ${GOALS.preloadMs} ms`,
      `+ ${fixed(control[false].preload.diff)} ms`,
      `+ ${fixed(control[true].preload.diff)} ms`,
      control[false].preload.diff <= GOALS.preloadMs && control[true].preload.diff <= GOALS.preloadMs,
    );
    row(
      'tsdaemon status − node -e 0',
      `≤ + ${GOALS.statusOverNodeMs} ms`,
      `+ ${fixed(control[false].status.diff, 0)} ms (${fixed(control[false].status.a, 0)} / ${fixed(control[false].status.b, 0)})`,
      `+ ${fixed(control[true].status.diff, 0)} ms (${fixed(control[true].status.a, 0)} / ${fixed(control[true].status.b, 0)})`,
      control[false].status.diff <= GOALS.statusOverNodeMs &&
        control[true].status.diff <= GOALS.statusOverNodeMs,
    );
    const header = ['measure', 'goal', 'NODE_EXTRA_CA_CERTS unset', 'set (a real CA bundle)', 'verdict'];
    result.table = table(header, rows);
    if (options.baseline) {
      const pair = (f) => `${f(byCa[false])} / ${f(byCa[true])}`;
      const rp = result.restartPairs ?? [];
      result.baselineTable = table(
        ['measure (CA unset / set)', `baseline: ${options.baseline}`, 'this build'],
        [
          [
            'supervisor RSS × idle node',
            pair((b) => fixed(b.baselineRssRatio, 2)),
            pair((b) => fixed(b.rssRatio, 2)),
          ],
          [
            'start − bare app, ms',
            pair((b) => fixed(b.baselineStartOverBare, 0)),
            pair((b) => fixed(b.startOverBare, 0)),
          ],
          [
            'status − node -e 0, ms',
            `${fixed(control[false].baselineStatus?.diff, 0)} / ${fixed(control[true].baselineStatus?.diff, 0)}`,
            `${fixed(control[false].status.diff, 0)} / ${fixed(control[true].status.diff, 0)}`,
          ],
          [
            'hot restart median, ms (3 × 20, alternating; machine CA)',
            rp.map((p) => fixed(p.theirs, 0)).join(', '),
            rp.map((p) => fixed(p.mine, 0)).join(', '),
          ],
        ],
      );
    }
    result.loadavg = os.loadavg();
    console.log(`\n${result.table}\n`);
    if (result.baselineTable) console.log(`${result.baselineTable}\n`);
    console.log(
      `medians of ${options.rounds} rounds (RSS, start) and ${options.runs} pairs (preload, status); load average ${os
        .loadavg()
        .map((v) => v.toFixed(1))
        .join(' ')}`,
    );
    if (result.soak)
      console.log(
        `restarts: ${result.soak.failed} failed of ${result.soak.requests} requests; RSS at restart 0/1/50/200/${options.restarts}: ${Object.values(
          result.soak.rssMiB,
        )
          .map((v) => fixed(v))
          .join(' / ')} MiB`,
      );
    const svg = result.soak
      ? plotXY(
          [
            {
              title: `supervisor RSS over ${options.restarts} hot restarts`,
              xLabel: 'restart',
              yLabel: 'MiB',
              line: 'points',
              series: [
                {
                  name: 'tsdaemon (bin/tsdaemon)',
                  points: result.soak.samples.map((s) => [s.restart, s.rssKiB / 1024]),
                },
                {
                  name: `goal: ${GOALS.rssAfterRestarts} × idle node`,
                  points: [
                    [0, GOALS.rssAfterRestarts * idleForSoak],
                    [options.restarts, GOALS.rssAfterRestarts * idleForSoak],
                  ],
                },
                {
                  name: 'idle node',
                  points: [
                    [0, idleForSoak],
                    [options.restarts, idleForSoak],
                  ],
                },
              ],
            },
            {
              title: 'hot restart time (SIGHUP → old generation gone)',
              xLabel: 'restart',
              yLabel: 'ms',
              line: 'points',
              series: [
                { name: 'hello app', points: result.soak.samples.slice(1).map((s) => [s.restart, s.ms]) },
              ],
            },
          ],
          `${session.machine.node}, load average ${os.loadavg()[0].toFixed(1)} at the end; idle node measured in the same run`,
        )
      : undefined;
    writeResults('goals', result, svg ? { '': svg } : {});
  } finally {
    await session.close();
  }
}

main().catch(failed('goals'));
