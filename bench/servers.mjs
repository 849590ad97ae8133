// Real servers under hot restarts: how many requests fail under tsdaemon (SIGHUP), and under the same
// hand-over done without tsdaemon (bench/handover.py), with the same load and the same number of
// restarts. Where tsdaemon loses more than the baseline, that is tsdaemon's fault; where both lose the
// same, it is the server's own drain. Not part of `npm test`.
//
//   npm run bench:servers -- [--servers go,uvicorn,…] [--variants all|clean|NAME,…] [--systems tsdaemon,baseline]
//                            [--restarts 5] [--interval 2] [--connections 50] [--delay-ms 50] [--rounds 1]
//
// The servers and their drain settings are in bench/lib/server-catalog.mjs. Express 5, Fastify 5, Koa and
// Hono are installed from npm into a temporary folder; the Go server is built into one with the `go` on
// PATH; gunicorn and uvicorn are Debian's (apt-get install gunicorn python3-uvicorn). A server whose
// prerequisite is missing is left out with a message. Writes docs/bench-servers.json.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { run } from './lib/proc.mjs';
import { table } from './lib/report.mjs';
import { runScenario } from './lib/scenario.mjs';
import { CATALOG, PYTHON, SERVERS_DIR } from './lib/server-catalog.mjs';
import { failed, openSession, ROOT, writeResults } from './lib/session.mjs';
import { createTsdaemonSystem } from './lib/tsdaemon-system.mjs';

const WARMUP_MS = 2000;
// baseline-epoll: the hand-over, ready at the moment tsdaemon's --ready=auto would say so;
// tsdaemon-timer: tsdaemon, ready 1 s after the start (--ready=timer:1s) whatever the server's own setting.
const SYSTEMS = ['tsdaemon', 'baseline', 'baseline-epoll', 'tsdaemon-timer'];
const DEFAULT_SYSTEMS = ['tsdaemon', 'baseline'];
const NODE_FRAMEWORKS = ['express@5', 'fastify@5', 'koa@latest', 'hono@latest', '@hono/node-server@latest'];

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      servers: { type: 'string', default: Object.keys(CATALOG).join(',') },
      variants: { type: 'string', default: 'all' },
      systems: { type: 'string', default: DEFAULT_SYSTEMS.join(',') },
      restarts: { type: 'string', default: '5' },
      interval: { type: 'string', default: '2' },
      connections: { type: 'string', default: '50' },
      'delay-ms': { type: 'string', default: '50' },
      rounds: { type: 'string', default: '1' },
    },
  });
  const number = (name, min, integer = true) => {
    const value = Number(values[name]);
    if (!(integer ? Number.isInteger(value) : Number.isFinite(value)) || value < min)
      throw new Error(`--${name} must be a number ≥ ${min}, not ${JSON.stringify(values[name])}`);
    return value;
  };
  const list = (name, known) => {
    const names = values[name].split(',').filter(Boolean);
    const unknown = names.filter((n) => !known.includes(n));
    if (unknown.length || !names.length)
      throw new Error(`--${name} takes ${known.join(', ')} (comma-separated), not ${values[name]}`);
    return names;
  };
  return {
    servers: list('servers', Object.keys(CATALOG)),
    variants: values.variants,
    systems: list('systems', SYSTEMS),
    restarts: number('restarts', 1),
    intervalMs: number('interval', 0.5, false) * 1000,
    warmupMs: WARMUP_MS,
    connections: number('connections', 1),
    delayMs: number('delay-ms', 0),
    rounds: number('rounds', 1),
  };
}

const chosenVariants = (entry, variants) =>
  Object.entries(entry.variants).filter(([name, v]) =>
    variants === 'all' ? !v.diagnostic : variants === 'clean' ? v.clean : variants.split(',').includes(name),
  );

async function installNodeFrameworks(dir) {
  mkdirSync(dir, { recursive: true });
  const args = [
    'install',
    '--prefix',
    dir,
    ...NODE_FRAMEWORKS,
    '--no-audit',
    '--no-fund',
    '--loglevel=error',
  ];
  const result = await run('npm', args, { timeoutMs: 180_000 });
  if (result.code !== 0) throw new Error(`npm ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  copyFileSync(join(SERVERS_DIR, 'node.mjs'), join(dir, 'node.mjs'));
  const version = (name) =>
    JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')).version;
  return Object.fromEntries(
    ['express', 'fastify', 'koa', 'hono', '@hono/node-server'].map((name) => [name, version(name)]),
  );
}

/** What the chosen servers need: { ctx, versions, missing: {need: reason} }. */
async function prepare(needs, tmp) {
  const ctx = { nodeDir: SERVERS_DIR };
  const versions = { node: process.version };
  const missing = {};
  if (needs.has('node-frameworks')) {
    try {
      console.error(`installing ${NODE_FRAMEWORKS.join(' ')} into a temporary folder …`);
      ctx.nodeDir = join(tmp, 'node-servers');
      Object.assign(versions, await installNodeFrameworks(ctx.nodeDir));
    } catch (error) {
      missing['node-frameworks'] = error.message.split('\n')[0];
      ctx.nodeDir = SERVERS_DIR;
    }
  }
  if (needs.has('python')) {
    try {
      const script =
        'import gunicorn, uvicorn, sys; print(gunicorn.__version__, uvicorn.__version__, sys.version.split()[0])';
      const [gunicorn, uvicorn, python] = execFileSync(PYTHON, ['-c', script], { encoding: 'utf8' })
        .trim()
        .split(' ');
      Object.assign(versions, { gunicorn, uvicorn, python });
    } catch (error) {
      missing.python = `${PYTHON} cannot import gunicorn and uvicorn (apt-get install gunicorn python3-uvicorn): ${error.message.split('\n')[0]}`;
    }
  }
  if (needs.has('go')) {
    try {
      versions.go = execFileSync('go', ['version'], { encoding: 'utf8' }).trim();
      ctx.goBin = join(tmp, 'goserver');
      execFileSync('go', ['build', '-o', ctx.goBin, join(SERVERS_DIR, 'main.go')], {
        cwd: SERVERS_DIR,
        env: { ...process.env, GOFLAGS: '' },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
    } catch (error) {
      missing.go = `no Go server (apt-get install golang-go): ${error.message.split('\n')[0]}`;
    }
  }
  return { ctx, versions, missing };
}

function summarizeRun(run) {
  const errors = {};
  let ok = 0;
  for (const bucket of run.buckets ?? []) {
    ok += bucket.ok;
    for (const [code, n] of Object.entries(bucket.errors)) errors[code] = (errors[code] ?? 0) + n;
  }
  const failedCount = Object.values(errors).reduce((sum, n) => sum + n, 0);
  return { requests: ok + failedCount, failed: failedCount, errors };
}

const errorText = (errors) =>
  Object.entries(errors)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
const cell = (s) => (s ? `${s.failed}${s.failed ? ` (${errorText(s.errors)})` : ''} / ${s.requests}` : '–');

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const session = await openSession('servers');
  const runs = [];
  try {
    const needs = new Set(options.servers.flatMap((name) => CATALOG[name].needs));
    const { ctx, versions, missing } = await prepare(needs, session.tmp);
    for (const [need, reason] of Object.entries(missing))
      console.error(`\n!!! LEFT OUT: the servers that need ${need}: ${reason}\n`);
    const env = {
      BENCH_DELAY_MS: String(options.delayMs),
      BENCH_TSDAEMON_APP: pathToFileURL(join(session.build, 'dist', 'app', 'index.js')).href,
    };
    const { restarts, intervalMs, connections } = options;
    console.error(
      `${options.systems.join(' vs ')}: ${restarts} restarts every ${intervalMs / 1000} s after ${WARMUP_MS / 1000} s, ${connections} keep-alive connections, app answers after ${options.delayMs} ms`,
    );
    for (const server of options.servers) {
      const entry = CATALOG[server];
      const lacking = entry.needs.find((need) => missing[need]);
      if (lacking) continue;
      for (const [variant, spec] of chosenVariants(entry, options.variants)) {
        const command = spec.argv(ctx);
        for (let round = 1; round <= options.rounds; round++) {
          for (const systemName of options.systems) {
            if (systemName === 'baseline-epoll' && entry.waitsIn) {
              console.error(
                `${server} ${variant} baseline-epoll: left out (it waits in ${entry.waitsIn}, not epoll)`,
              );
              continue;
            }
            const system = systemName.startsWith('tsdaemon')
              ? createTsdaemonSystem({
                  name: systemName,
                  build: session.build,
                  command,
                  args:
                    systemName === 'tsdaemon-timer'
                      ? ['--ready=timer:1s']
                      : (spec.ready ?? entry.ready ?? []),
                  env,
                })
              : createTsdaemonSystem({
                  name: systemName,
                  launcher: [PYTHON, join(ROOT, 'bench', 'handover.py')],
                  args: systemName === 'baseline-epoll' ? ['--handover-ready=epoll'] : [],
                  command,
                  env,
                });
            const result = await runScenario(system, { round, ...options, detail: true });
            const s = summarizeRun(result);
            const times = result.restarts.map((r) => Math.round(r.doneMs - r.sentMs)).join(', ');
            console.error(
              `${server} ${variant} ${systemName} round ${round}: ${cell(s)}; restarts ${times || '–'} ms${result.error ? `; ERROR ${result.error}` : ''}${result.stop.left.length ? `; LEFT BEHIND ${result.stop.left}` : ''}`,
            );
            if (result.error) console.error((result.log ?? []).slice(-15).join('\n'));
            runs.push({
              server,
              variant,
              settings: spec.settings,
              clean: Boolean(spec.clean),
              system: systemName,
              round,
              ...s,
              restartMs: result.restarts.map((r) => Math.round(r.doneMs - r.sentMs)),
              readyMs: result.restarts.map((r) =>
                r.readyMs === undefined ? null : Math.round(r.readyMs - r.sentMs),
              ),
              error: result.error,
              left: result.stop.left,
            });
          }
        }
      }
    }
    const rows = [];
    for (const server of options.servers)
      for (const [variant, spec] of chosenVariants(CATALOG[server], options.variants)) {
        const pooled = (system) => {
          const mine = runs.filter(
            (r) => r.server === server && r.variant === variant && r.system === system,
          );
          if (!mine.length) return undefined;
          const errors = {};
          for (const r of mine)
            for (const [code, n] of Object.entries(r.errors)) errors[code] = (errors[code] ?? 0) + n;
          const sum = (key) => mine.reduce((total, r) => total + r[key], 0);
          return {
            requests: sum('requests'),
            failed: sum('failed'),
            errors,
            error: mine.some((r) => r.error),
          };
        };
        const cells = options.systems.map(pooled);
        if (!cells.some(Boolean)) continue;
        const runFailed = cells.some((c) => c?.error);
        rows.push([
          server,
          `${variant}: ${spec.settings}`,
          ...cells.map(cell),
          runFailed ? 'run failed' : '',
        ]);
      }
    const report = table(
      ['server', 'drain settings', ...options.systems.map((name) => `${name}: failed / requests`), ''],
      rows,
    );
    console.log(report);
    writeResults('servers', {
      machine: session.machine,
      commit: session.commit,
      date: new Date().toISOString(),
      options,
      versions,
      missing,
      table: report,
      runs,
    });
    if (runs.some((r) => r.error)) process.exitCode = 1;
  } finally {
    await session.close();
  }
}

main().catch(failed('servers'));
