import os from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createCommandSystem } from './lib/command-system.mjs';
import { measureIdleStop } from './lib/idle-stop.mjs';
import { plotXY } from './lib/plot.mjs';
import { firstAnswer, freePort, hostTcpSockets, now, openFilesLimit, rssMiB } from './lib/proc.mjs';
import { median, quantile, table } from './lib/report.mjs';
import { failed, openSession, ROOT, writeResults } from './lib/session.mjs';
import { runThenStop } from './lib/system-run.mjs';
import { createTsdaemonSystem } from './lib/tsdaemon-system.mjs';

const HELLO = join(ROOT, 'bench', 'apps', 'hello.js');
const SERVE_FDS = join(ROOT, 'bench', 'apps', 'serve-fds.js');
// listeners-busy repeats the listeners part while the host's TCP tables still hold the drain part's
// 20,000 TIME_WAIT sockets (60 s): tsdaemon reads /proc/net/tcp{,6} for every listener it opens.
const PARTS = ['listeners', 'workers', 'drain', 'listeners-busy'];
const LAME_DUCK = '10s';
const MAX_FDS = 65_536; // for the app and the client side of the drain part: 10,000 sockets each
const START_TIMEOUT_MS = 30_000;

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string', default: '2' },
      listeners: { type: 'string', default: '1,16,64' },
      workers: { type: 'string', default: '1,4,16' },
      connections: { type: 'string', default: '10000' },
      'drain-rounds': { type: 'string', default: '1' },
      idle: { type: 'string', default: '1' },
      parts: { type: 'string', default: PARTS.join(',') },
    },
  });
  const integer = (name, text = values[name], min = 1) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min)
      throw new Error(`--${name} takes integers ≥ ${min}, not ${JSON.stringify(values[name])}`);
    return value;
  };
  const list = (name) => values[name].split(',').map((v) => integer(name, v));
  const parts = values.parts.split(',').filter(Boolean);
  if (!parts.length || parts.some((p) => !PARTS.includes(p)))
    throw new Error(`--parts takes ${PARTS.join(', ')} (comma-separated), not ${values.parts}`);
  const idleMs = Number(values.idle) * 1000;
  if (!(idleMs >= 0)) throw new Error(`--idle must be seconds ≥ 0, not ${values.idle}`);
  return {
    rounds: integer('rounds'),
    listeners: list('listeners'),
    workers: list('workers'),
    connections: integer('connections'),
    drainRounds: integer('drain-rounds', values['drain-rounds'], 0),
    idleMs,
    parts,
  };
}

/** Starts a tsdaemon system, timing spawn → first answer on `port` and spawn → every worker ready. */
async function startTimed(system, port) {
  const startedAt = now();
  const started = system.start(port); // spawns before it returns
  started.catch(() => {}); // awaited below
  const answeredAt = await firstAnswer(port, { intervalMs: 2, timeoutMs: START_TIMEOUT_MS });
  const { pid, allReadyAt } = await started;
  return { pid, firstAnswerMs: answeredAt - startedAt, allReadyMs: allReadyAt - startedAt };
}

async function runListeners(size, { build, round, idleMs, part = 'listeners' }) {
  const ports = [];
  while (ports.length < size) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  const system = createTsdaemonSystem({
    build,
    app: SERVE_FDS,
    extraListen: ports.slice(1).map((port) => `127.0.0.1:${port}`),
  });
  const result = {
    part,
    size,
    round,
    loadavg: os.loadavg()[0],
    hostTcpSockets: hostTcpSockets(),
  };
  return runThenStop(
    system,
    result,
    async () => {
      Object.assign(result, await startTimed(system, ports[0]));
      // Every socket is served, not just the first (the app would have failed on a missing fd).
      result.lastAnswers = await firstAnswer(ports.at(-1), { timeoutMs: 5000 }).then(
        () => true,
        () => false,
      );
      await sleep(idleMs);
      result.rssMiB = rssMiB(result.pid);
    },
    { withLog: true },
  );
}

async function runWorkers(size, { build, round, idleMs }) {
  const port = await freePort();
  const system = createTsdaemonSystem({ build, workers: size });
  const result = { part: 'workers', size, round, loadavg: os.loadavg()[0], hostTcpSockets: hostTcpSockets() };
  return runThenStop(
    system,
    result,
    async () => {
      Object.assign(result, await startTimed(system, port));
      await sleep(idleMs);
      result.rssMiB = rssMiB(result.pid);
      const { sentAt, readyAt, doneAt } = await system.restart();
      result.restartMs = doneAt - sentAt;
      result.restartFirstReadyMs = readyAt - sentAt;
      result.afterRestartRssMiB = rssMiB(result.pid);
    },
    { withLog: true },
  );
}

async function runDrain(name, { build, round, connections }) {
  const system =
    name === 'tsdaemon'
      ? createTsdaemonSystem({ build, args: [`--lame-duck=${LAME_DUCK}`], maxFds: MAX_FDS })
      : createCommandSystem({ name, argv: [process.execPath, HELLO], maxFds: MAX_FDS });
  const result = { part: 'drain', system: name, round, connections, loadavg: os.loadavg()[0] };
  // SIGTERM at once: hello.js keeps an idle connection 5 s (Node's keepAliveTimeout) and would close the
  // oldest ones by itself soon.
  const closeMs = await measureIdleStop(system, result, { connections, maxFds: MAX_FDS, settleMs: 200 });
  // The close times after SIGTERM, as 21 quantiles (0, 5, … 100 %), for the plot.
  if (!result.error)
    result.closeMsQuantiles = Array.from({ length: 21 }, (_, i) => quantile(closeMs, i / 20));
  return result;
}

const fixed = (value, digits = 0) =>
  value === null || value === undefined || Number.isNaN(value) ? '–' : value.toFixed(digits);
const med = (runs, field) => median(runs.map((r) => r[field]).filter((v) => v !== undefined));

function report(runs, options) {
  const ok = runs.filter((r) => !r.error);
  const out = [];
  const sized = (part, sizes) =>
    sizes.map((size) => [size, ok.filter((r) => r.part === part && r.size === size)]);
  for (const part of ['listeners', 'listeners-busy'].filter((p) => options.parts.includes(p)))
    out.push(
      table(
        `${part},runs,spawn→first answer ms,RSS MiB,last socket answered,host TCP sockets`.split(','),
        sized(part, options.listeners).map(([size, mine]) => [
          size,
          mine.length,
          mine.map((r) => fixed(r.firstAnswerMs)).join(', '),
          mine.map((r) => fixed(r.rssMiB, 1)).join(', '),
          mine.every((r) => r.lastAnswers) ? 'yes' : 'NO',
          mine.map((r) => r.hostTcpSockets).join(', '),
        ]),
      ),
    );
  if (options.parts.includes('workers'))
    out.push(
      table(
        'workers,runs,spawn→first answer ms,spawn→all ready ms,RSS MiB,hot restart ms (SIGHUP→last old worker gone),per worker ms'.split(
          ',',
        ),
        sized('workers', options.workers).map(([size, mine]) => [
          size,
          mine.length,
          mine.map((r) => fixed(r.firstAnswerMs)).join(', '),
          mine.map((r) => fixed(r.allReadyMs)).join(', '),
          mine.map((r) => fixed(r.rssMiB, 1)).join(', '),
          mine.map((r) => fixed(r.restartMs)).join(', '),
          fixed(med(mine, 'restartMs') / size),
        ]),
      ),
    );
  if (options.parts.includes('drain'))
    out.push(
      table(
        'system,round,connections open,closed before SIGTERM,SIGTERM→exit ms,clean FIN,resets / errors,still open,closes at p50 / p100 ms after SIGTERM'.split(
          ',',
        ),
        ok
          .filter((r) => r.part === 'drain')
          .map((r) => [
            r.system,
            r.round,
            `${r.opened}${r.openFailed ? ` (${r.openFailed} failed)` : ''}`,
            r.closedBeforeStop,
            fixed(r.exitMs),
            r.clean,
            Object.entries(r.errors)
              .map(([code, n]) => `${code} ${n}`)
              .join(', ') || '0',
            r.stillOpen,
            `${fixed(r.closeMsQuantiles[10])} / ${fixed(r.closeMsQuantiles[20])}`,
          ]),
      ),
    );
  return out.join('\n\n');
}

function plot(runs, options) {
  const ok = runs.filter((r) => !r.error);
  const points = (part, field) =>
    ok.filter((r) => r.part === part && r[field] !== undefined).map((r) => [r.size, r[field]]);
  // The host's TCP table size during a part: tsdaemon's start depends on it.
  const hostNote = (part) => {
    const count = median(ok.filter((r) => r.part === part).map((r) => r.hostTcpSockets));
    return count === null ? '' : ` (host: ${count} TCP sockets)`;
  };
  const panels = [];
  if (options.parts.includes('workers'))
    panels.push(
      {
        title: 'hot restart vs workers',
        xLabel: '--workers',
        yLabel: 'ms',
        logX: true,
        series: [
          { name: 'SIGHUP → last old worker gone', points: points('workers', 'restartMs') },
          { name: 'SIGHUP → first new worker ready', points: points('workers', 'restartFirstReadyMs') },
        ],
      },
      {
        title: 'start vs workers',
        xLabel: '--workers',
        yLabel: 'ms after spawn',
        logX: true,
        series: [
          { name: 'all workers ready', points: points('workers', 'allReadyMs') },
          { name: 'first answer', points: points('workers', 'firstAnswerMs') },
        ],
      },
    );
  if (options.parts.includes('listeners') || options.parts.includes('workers'))
    panels.push({
      title: 'supervisor RSS',
      xLabel: 'listeners or workers',
      yLabel: 'MiB',
      logX: true,
      series: [
        { name: `by --listen count${hostNote('listeners')}`, points: points('listeners', 'rssMiB') },
        {
          name: `by --listen count${hostNote('listeners-busy')}`,
          points: points('listeners-busy', 'rssMiB'),
        },
        { name: 'by --workers', points: points('workers', 'rssMiB') },
      ].filter((series) => series.points.length),
    });
  if (options.parts.some((part) => part.startsWith('listeners')))
    panels.push({
      title: 'start vs listeners',
      xLabel: '--listen count',
      yLabel: 'ms from spawn to first answer',
      logX: true,
      series: [
        { name: `listeners part${hostNote('listeners')}`, points: points('listeners', 'firstAnswerMs') },
        {
          name: `listeners-busy part${hostNote('listeners-busy')}`,
          points: points('listeners-busy', 'firstAnswerMs'),
        },
      ].filter((series) => series.points.length),
    });
  const drains = ok.filter((r) => r.part === 'drain' && r.closeMsQuantiles?.length);
  if (drains.length)
    panels.push({
      title: `${options.connections} idle connections: closed after SIGTERM`,
      xLabel: 'ms after SIGTERM',
      yLabel: '% of connections closed',
      line: 'points',
      series: drains.map((r) => ({
        name: `${r.system} (round ${r.round}, exit ${fixed(r.exitMs)} ms)`,
        points: r.closeMsQuantiles.map((ms, i) => [Math.max(0, ms), i * 5]),
      })),
    });
  return panels.length ? plotXY(panels, 'each dot is one run; lines join the medians') : undefined;
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const session = await openSession('scale');
  const { build } = session;
  const runs = [];
  const log = (run, text) => {
    runs.push(run);
    console.error(
      `${text}${run.error ? ` ERROR ${run.error}` : ''}${run.left ? `; LEFT BEHIND ${run.left}` : ''}`,
    );
  };
  try {
    const limit = openFilesLimit();
    console.error(
      `open files: soft ${limit.soft}, hard ${limit.hard}; the drain part raises both sides to ${Math.min(MAX_FDS, limit.hard)}`,
    );
    if (options.parts.includes('drain') && Math.min(MAX_FDS, limit.hard) < options.connections + 1000)
      console.error(
        `warning: ${options.connections} connections need more open files than the hard limit allows`,
      );
    for (const part of options.parts) {
      const rounds = part === 'drain' ? options.drainRounds : options.rounds;
      for (let round = 1; round <= rounds; round++) {
        if (part === 'listeners' || part === 'listeners-busy')
          for (const size of options.listeners) {
            const run = await runListeners(size, { build, round, ...options, part });
            log(
              run,
              `${part}=${size} round ${round} (host TCP sockets ${run.hostTcpSockets}): first answer ${fixed(run.firstAnswerMs)} ms, RSS ${fixed(run.rssMiB, 1)} MiB`,
            );
          }
        if (part === 'workers')
          for (const size of options.workers) {
            const run = await runWorkers(size, { build, round, ...options });
            log(
              run,
              `workers=${size} round ${round}: all ready ${fixed(run.allReadyMs)} ms, RSS ${fixed(run.rssMiB, 1)} MiB, restart ${fixed(run.restartMs)} ms`,
            );
          }
        if (part === 'drain')
          for (const name of ['tsdaemon', 'bare']) {
            const run = await runDrain(name, { build, round, ...options });
            log(
              run,
              `drain ${name} round ${round}: ${run.opened} open (in ${fixed(run.openMs)} ms), exit ${fixed(run.exitMs)} ms after SIGTERM, clean ${run.clean}, errors ${JSON.stringify(run.errors)}, still open ${run.stillOpen}`,
            );
          }
      }
    }
    const tables = report(runs, options);
    console.log(tables);
    const result = { machine: session.machine, commit: session.commit, options, runs, tables };
    const svg = plot(runs, options);
    if (runs.some((run) => !run.error)) writeResults('scale', result, svg ? { '': svg } : {});
    if (runs.some((run) => run.error || run.left)) process.exitCode = 1;
  } finally {
    await session.close();
  }
}

main().catch(failed('scale'));
