// A real systemd for the tests: a machine booted by test/engines/systemd.sh (systemd 254 as PID 1 of its
// own namespaces, over an overlay of the host's /), tsdaemon installed into it from this checkout, and
// systemctl, journalctl and curl run inside it with nsenter. Every machine is halted and unmounted after.
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { after } from 'node:test';
import { announceUnavailable } from './engines.mjs';
import { ROOT, sleep } from './tsdaemon.mjs';

const SCRIPT = join(ROOT, 'test/engines/systemd.sh');
const CACHE = process.env.TSDAEMON_CI_CACHE ?? '/var/cache/tsdaemon-ci';
const LAYER = join(CACHE, 'systemd-254');

/** Why no machine can boot here (a sentence for the skip), or undefined when one can. */
export function systemdUnavailable() {
  if (process.getuid() !== 0) return 'NO SYSTEMD: the tests need root';
  if (!existsSync('/usr/bin/systemd-nspawn'))
    return 'NO SYSTEMD: systemd-nspawn is missing; run test/engines/systemd.sh prepare';
  if (!existsSync(join(LAYER, 'usr/bin/systemctl')))
    return `NO SYSTEMD: ${LAYER} is missing; run test/engines/systemd.sh prepare`;
  if (!existsSync(join(ROOT, 'native/tsdaemon_native.node')))
    return 'NO SYSTEMD: the native addon (sd_notify) is not built; run node native/build.mjs --required';
  return undefined;
}

function run(file, args, { timeoutMs = 30_000, input } = {}) {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (error.killed ? 'timeout' : error.code) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin.end(input);
  });
}

export class Machine {
  constructor(dir, pid1) {
    this.dir = dir;
    this.pid1 = pid1;
    this.root = join(dir, 'root');
  }

  /** Runs a command inside the machine (all its namespaces); resolves { code, stdout, stderr }. */
  exec(args, options) {
    return run('nsenter', ['-t', String(this.pid1), '-a', '--', ...args], options);
  }

  /** Like exec, but rejects unless the command exits 0; resolves with its stdout. */
  async must(args, options) {
    const result = await this.exec(args, options);
    if (result.code !== 0)
      throw new Error(
        `in the machine: ${args.join(' ')}: exit ${result.code}\n${result.stdout}${result.stderr}`,
      );
    return result.stdout;
  }

  systemctl(...args) {
    return this.must(['systemctl', '--no-pager', ...args], { timeoutMs: 120_000 });
  }

  /** systemctl show: { Property: value } for the properties asked. */
  async show(unit, ...properties) {
    const out = await this.systemctl('show', unit, ...properties.map((p) => `--property=${p}`));
    return Object.fromEntries(
      out
        .trim()
        .split('\n')
        .map((line) => line.split(/=(.*)/s).slice(0, 2)),
    );
  }

  /** The unit's journal as plain messages (journalctl -o cat), with extra journalctl args. */
  journal(unit, ...args) {
    return this.must(['journalctl', '--no-pager', '-o', 'cat', '-u', unit, ...args]);
  }

  /** GET over curl inside the machine's network; resolves the body (rejects on a failure). */
  curl(url, ...args) {
    return this.must(['curl', '-sS', '--fail', '--max-time', '30', ...args, url], { timeoutMs: 40_000 });
  }

  /** The app's JSON answer on port 80 (test/fixtures/systemd-app.js), over curl inside the machine. */
  async ask(path = '') {
    return JSON.parse(await this.curl(`http://127.0.0.1:80/${path}`));
  }

  /** The effective uid of pid (a pid of the machine). */
  async uidOf(pid) {
    const status = await this.must(['cat', `/proc/${pid}/status`]);
    return Number(/\nUid:\s+\d+\s+(\d+)/.exec(status)[1]);
  }

  /** Writes a file into the machine (the overlay's upper layer), creating its directories. */
  writeFile(path, content, mode = 0o644) {
    mkdirSync(dirname(join(this.root, path)), { recursive: true, mode: 0o755 });
    writeFileSync(join(this.root, path), content);
    chmodSync(join(this.root, path), mode);
  }

  removeFile(path) {
    rmSync(join(this.root, path), { force: true, recursive: true });
  }

  /**
   * tsdaemon from this checkout as /usr/lib/node_modules/tsdaemon (as `npm install -g` puts it), on PATH as
   * /usr/bin/tsdaemon, world-readable: the dropped user's Node children load its preload.
   */
  installTsdaemon() {
    const target = join(this.root, 'usr/lib/node_modules/tsdaemon');
    mkdirSync(join(target, 'native'), { recursive: true });
    for (const part of ['bin', 'dist', 'package.json', 'native/tsdaemon_native.node'])
      cpSync(join(ROOT, part), join(target, part), { recursive: true });
    execFileSync('chmod', ['-R', 'a+rX', target]);
    rmSync(join(this.root, 'usr/bin/tsdaemon'), { force: true });
    symlinkSync('/usr/lib/node_modules/tsdaemon/bin/tsdaemon', join(this.root, 'usr/bin/tsdaemon'));
    // The units say /usr/bin/node (and bin/tsdaemon runs `env node`): in the machine that is the node
    // running this test, so that `npm run test:matrix` checks the units under every Node version.
    // A copy, not a symlink: node's own path (process.execPath) must be /usr/bin/node, as on a server.
    if (process.execPath !== '/usr/bin/node') {
      rmSync(join(this.root, 'usr/bin/node'), { force: true });
      copyFileSync(process.execPath, join(this.root, 'usr/bin/node'));
      chmodSync(join(this.root, 'usr/bin/node'), 0o755);
    }
  }

  /**
   * HTTP keep-alive load inside the machine's network (test/helpers/load-run.mjs under nsenter -n).
   * servedBy(pid) resolves once app pid answered a request of the load (any pid when none is given);
   * stop() resolves with its stats { ok, failed, errors, pids }.
   */
  startLoad(port, connections = 8) {
    const child = spawn(
      'nsenter',
      [
        '-t',
        String(this.pid1),
        '-n',
        '--',
        process.execPath,
        join(ROOT, 'test/helpers/load-run.mjs'),
        String(port),
        String(connections),
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    let out = '';
    const pids = new Set();
    const waiters = new Set();
    child.stdout.on('data', (chunk) => {
      out += chunk;
      for (const [, pid] of out.matchAll(/^pid (\d+)$/gm)) pids.add(Number(pid));
      for (const waiter of waiters) waiter();
    });
    const exited = new Promise((resolve) => child.on('close', resolve));
    return {
      servedBy(pid) {
        return new Promise((resolve) => {
          const check = () => {
            if (pid === undefined ? pids.size > 0 : pids.has(pid)) {
              waiters.delete(check);
              resolve();
            }
          };
          waiters.add(check);
          check();
        });
      },
      async stop() {
        child.stdin.end();
        await exited;
        return JSON.parse(out.trim().split('\n').at(-1));
      },
      kill() {
        child.kill('SIGKILL');
      },
    };
  }

  async halt() {
    await run(SCRIPT, ['halt', this.dir], { timeoutMs: 60_000 });
  }
}

/** Boots a machine; resolves a Machine, or rejects with the script's reason. */
export async function bootMachine() {
  const { code, stdout, stderr } = await run(SCRIPT, ['boot'], { timeoutMs: 180_000 });
  const dir = /MACHINE=(\S+)/.exec(stdout)?.[1];
  const pid1 = Number(/PID1=(\d+)/.exec(stdout)?.[1]);
  if (code !== 0 || !dir || !pid1) {
    if (dir) await run(SCRIPT, ['halt', dir]);
    const reason =
      /NO SYSTEMD MACHINE: (.*)/.exec(stderr)?.[1] ?? `exit ${code}: ${stderr.trim().split('\n').at(-1)}`;
    throw new Error(`NO SYSTEMD: the machine did not boot: ${reason}`);
  }
  return new Machine(dir, pid1);
}

/**
 * For a test file (its path, for the announcement): a booted machine, halted after the file's tests, or
 * the reason there is none (announced loudly; the file's tests then skip with it).
 */
export async function machineForFile(file) {
  let machine;
  let unavailable = systemdUnavailable();
  if (!unavailable) {
    try {
      machine = await bootMachine();
    } catch (error) {
      unavailable = error.message;
    }
  }
  announceUnavailable(unavailable, file);
  after(() => machine?.halt());
  return { machine, unavailable };
}

/**
 * systemctl reload of unit name under a keep-alive load, with a new generation that takes delayMs to be
 * ready (test/fixtures/systemd-app.js reads /srv/app/start-delay-ms): 0 failed requests, and the new
 * generation answers as soon as systemctl returns. Resolves how long the reload took.
 */
export async function reloadUnderLoad(machine, t, name, delayMs) {
  const before = await machine.ask();
  const load = machine.startLoad(80);
  t.after(() => load.kill());
  await load.servedBy(); // the load runs
  machine.writeFile('/srv/app/start-delay-ms', String(delayMs));
  const started = Date.now();
  await machine.systemctl('reload', name);
  const tookMs = Date.now() - started;
  const after = await machine.ask();
  assert.equal(after.generation, before.generation + 1, 'the new generation serves once reload returned');
  machine.removeFile('/srv/app/start-delay-ms');
  await load.servedBy(after.pid); // the load went on into the new generation
  const stats = await load.stop();
  t.diagnostic(`reload took ${tookMs} ms; load: ${stats.ok} requests, ${stats.failed} failed`);
  assert.equal(stats.failed, 0, JSON.stringify(stats.errors));
  assert.ok(
    stats.pids.includes(before.pid) && stats.pids.includes(after.pid),
    'the load saw both generations',
  );
  return tookMs;
}

/** systemctl stop with a request in flight: it is answered, and the unit ends with Result=success. */
export async function stopDrains(machine, name, { journal = true } = {}) {
  const mark = randomUUID().replace(/-/g, '');
  const slow = machine.ask(`?ms=1000&mark=${mark}`);
  const arrived = join(machine.root, 'tmp', `systemd-app-${mark}`);
  for (let i = 0; i < 300 && !existsSync(arrived); i++) await sleep(50);
  rmSync(arrived, { force: true });
  await machine.systemctl('stop', name);
  assert.equal((await slow).pid > 0, true, 'the request in flight was answered');
  const show = await machine.show(name, 'Result', 'ExecMainStatus', 'ActiveState');
  assert.deepEqual(show, { Result: 'success', ExecMainStatus: '0', ActiveState: 'inactive' });
  if (journal) assert.match(await machine.journal(name), /running -> draining/);
}
