// Drain benchmark: how long the Node drain of an idle server takes, and what a drain under
// keep-alive load loses. Not part of `npm test`.
//   idle   --connections (10,000) idle keep-alive connections, then, --idle ms after the last one got its
//          answer (0: at once, 2000), SIGTERM with --lame-duck=15s: ms until the supervisor exits, and how
//          each connection ended (FIN = clean, or reset); the apps' keepAliveTimeout is 60 s, so none is
//          closed by Node before. Systems: tsdaemon with bench/apps/hello.js (its own SIGTERM handler
//          calls server.close()), tsdaemon with bench/apps/hello-plain.js (no handler: the preload
//          drains it and exits 0), and the bare hello.js (Node's own close());
//   load   --load-connections (200) keep-alive clients back to back (like autocannon -c 200) against
//          tsdaemon + hello-plain.js, --restarts (20) SIGHUPs 1.5 s apart: failed requests. Each restart
//          drains the old generation while its connections are busy;
//   think  the same, each client pausing a random 0..--think-ms ms after every answer: connections that
//          are idle at any moment and get a request at any moment (the race with closing idle ones).
//
//   node bench/drain.mjs [--parts idle,load,think] [--rounds 2] [--connections 10000] [--idle 0,2000]
//                        [--load-connections 200] [--restarts 20] [--think-ms 1000]
//
// Writes docs/bench-drain.json.
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createCommandSystem } from './lib/command-system.mjs';
import { measureIdleStop } from './lib/idle-stop.mjs';
import { median, table } from './lib/report.mjs';
import { runScenario } from './lib/scenario.mjs';
import { failed, openSession, ROOT, writeResults } from './lib/session.mjs';
import { createTsdaemonSystem } from './lib/tsdaemon-system.mjs';

const HELLO = join(ROOT, 'bench', 'apps', 'hello.js');
const HELLO_PLAIN = join(ROOT, 'bench', 'apps', 'hello-plain.js');
const PARTS = ['idle', 'load', 'think'];
const LAME_DUCK = '15s';
const MAX_FDS = 65_536; // the app and the client side of the idle part: 10,000 sockets each
const RESTART_INTERVAL_MS = 1500;
// The apps' keepAliveTimeout (Node's default is 5 s): opening 10,000 connections can take longer than
// that on a busy machine, and Node would close the oldest ones before the stop. Inherited by every app.
process.env.KEEP_ALIVE_MS = '60000';

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      parts: { type: 'string', default: PARTS.join(',') },
      rounds: { type: 'string', default: '2' },
      connections: { type: 'string', default: '10000' },
      idle: { type: 'string', default: '0,2000' },
      'load-connections': { type: 'string', default: '200' },
      restarts: { type: 'string', default: '20' },
      'think-ms': { type: 'string', default: '1000' },
    },
  });
  const integer = (name) => {
    const value = Number(values[name]);
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`--${name} takes an integer ≥ 1, not ${JSON.stringify(values[name])}`);
    return value;
  };
  const parts = values.parts.split(',').filter(Boolean);
  if (!parts.length || parts.some((p) => !PARTS.includes(p)))
    throw new Error(`--parts takes ${PARTS.join(', ')} (comma-separated), not ${values.parts}`);
  const idle = values.idle.split(',').map(Number);
  if (idle.some((ms) => !Number.isInteger(ms) || ms < 0))
    throw new Error(`--idle takes ms ≥ 0 (comma-separated), not ${values.idle}`);
  return {
    parts,
    idle,
    rounds: integer('rounds'),
    connections: integer('connections'),
    loadConnections: integer('load-connections'),
    restarts: integer('restarts'),
    thinkMs: integer('think-ms'),
  };
}

const IDLE_SYSTEMS = {
  'tsdaemon, app with close()': (build) =>
    createTsdaemonSystem({ build, app: HELLO, args: [`--lame-duck=${LAME_DUCK}`], maxFds: MAX_FDS }),
  'tsdaemon, app with no handler': (build) =>
    createTsdaemonSystem({ build, app: HELLO_PLAIN, args: [`--lame-duck=${LAME_DUCK}`], maxFds: MAX_FDS }),
  'bare node, close()': () =>
    createCommandSystem({ name: 'bare', argv: [process.execPath, HELLO], maxFds: MAX_FDS }),
};

async function runIdle(name, { build, round, connections, idleMs }) {
  const system = IDLE_SYSTEMS[name](build);
  const result = { part: 'idle', system: name, idleMs, round, connections, loadavg: os.loadavg()[0] };
  // The client, busy with 10,000 sockets, gets the last FINs and resets up to a second after the exit.
  const closeMs = await measureIdleStop(system, result, {
    connections,
    idleMs,
    maxFds: MAX_FDS,
    settleMs: 1000,
  });
  if (!result.error) result.lastCloseMs = closeMs.at(-1);
  return result;
}

async function runLoad(part, { build, round, loadConnections, restarts, thinkMs }) {
  const system = createTsdaemonSystem({ build, app: HELLO_PLAIN, args: [`--lame-duck=${LAME_DUCK}`] });
  const scenario = await runScenario(system, {
    round,
    restarts,
    warmupMs: 1000,
    intervalMs: RESTART_INTERVAL_MS,
    connections: loadConnections,
    thinkMs: part === 'think' ? thinkMs : 0,
  });
  const errors = {};
  let ok = 0;
  for (const bucket of scenario.buckets ?? []) {
    ok += bucket.ok;
    for (const [code, n] of Object.entries(bucket.errors)) errors[code] = (errors[code] ?? 0) + n;
  }
  const failedRequests = Object.values(errors).reduce((a, b) => a + b, 0);
  return {
    part,
    round,
    restarts: scenario.restarts.length,
    ok,
    failed: failedRequests,
    errors,
    error: scenario.error,
    loadavg: scenario.loadavg,
  };
}

const fixed = (value) => (value === undefined || Number.isNaN(value) ? '–' : value.toFixed(0));

function report(runs) {
  const out = [];
  const idle = runs.filter((r) => r.part === 'idle' && !r.error);
  if (idle.length)
    out.push(
      table(
        'system,idle before SIGTERM ms,runs,SIGTERM→exit ms (each run),median,closed before,FIN,reset/other,still open,last close ms'.split(
          ',',
        ),
        [...new Set(idle.map((r) => `${r.system}\t${r.idleMs}`))].map((key) => {
          const [name, idleMs] = key.split('\t');
          const mine = idle.filter((r) => r.system === name && String(r.idleMs) === idleMs);
          return [
            name,
            idleMs,
            mine.length,
            mine.map((r) => fixed(r.exitMs)).join(', '),
            fixed(median(mine.map((r) => r.exitMs))),
            mine.map((r) => r.closedBefore).join(', '),
            mine.map((r) => r.clean).join(', '),
            mine.map((r) => JSON.stringify(r.errors)).join(', '),
            mine.map((r) => r.stillOpen).join(', '),
            mine.map((r) => fixed(r.lastCloseMs)).join(', '),
          ];
        }),
      ),
    );
  const loads = runs.filter((r) => r.part !== 'idle');
  if (loads.length)
    out.push(
      table(
        'part,round,restarts,answered,failed,errors'.split(','),
        loads.map((r) => [r.part, r.round, r.restarts, r.ok, r.failed, r.error ?? JSON.stringify(r.errors)]),
      ),
    );
  return out.join('\n\n');
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const session = await openSession('drain');
  const runs = [];
  try {
    for (let round = 1; round <= options.rounds; round++) {
      if (options.parts.includes('idle'))
        for (const idleMs of options.idle)
          for (const name of Object.keys(IDLE_SYSTEMS)) {
            const run = await runIdle(name, { build: session.build, round, ...options, idleMs });
            runs.push(run);
            console.error(
              `idle ${name}, ${idleMs} ms idle, round ${round}: exit ${fixed(run.exitMs)} ms, FIN ${run.clean}, ${JSON.stringify(run.errors)}${run.error ? ` ERROR ${run.error}` : ''}`,
            );
          }
      for (const part of ['load', 'think'].filter((p) => options.parts.includes(p))) {
        const run = await runLoad(part, { build: session.build, round, ...options });
        runs.push(run);
        console.error(
          `${part} round ${round}: ${run.restarts} restarts, ${run.ok} answered, ${run.failed} failed ${JSON.stringify(run.errors)}${run.error ? ` ERROR ${run.error}` : ''}`,
        );
      }
    }
  } finally {
    await session.close();
  }
  const text = report(runs);
  console.log(text);
  writeResults('drain', { machine: session.machine, commit: session.commit, options, runs, report: text });
}

main().catch(failed('drain'));
