// Start the real built bin/tsdaemon in tests, read its log, talk to what it serves, and clean up every
// process it started (by pid and process group, never by name).
import { execFile, execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = `${ROOT}bin/tsdaemon`;

/**
 * A fresh directory under /tmp (mode 0700, root's or the test's user), removed with everything in it after
 * the test t. Every test makes its temporary files through this, so a run leaves /tmp as it found it.
 */
export function tempDir(t, prefix = 'tsdaemon-test-') {
  const dir = mkdtempSync(`/tmp/${prefix}`);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A world-readable copy of the built CLI (bin/, dist/, package.json and the native libraries; the bundle
 * needs no node_modules), for tests that run tsdaemon as an unprivileged user who cannot read the checkout.
 * without: native files left out ('tsdaemon_native.node', 'libtsdaemon_bind.so'), as in an install where
 * the C compiler was missing. Removed after the test t. Returns the copy's bin/tsdaemon.
 */
export function worldReadableBin(t, { without = [] } = {}) {
  // Without t (older callers) the copy stays behind; test/hygiene.test.mjs names such calls.
  const dir = t ? tempDir(t, 'tsdaemon-public-') : mkdtempSync('/tmp/tsdaemon-public-');
  for (const part of [
    'bin',
    'dist',
    'package.json',
    'native/tsdaemon_native.node',
    'native/libtsdaemon_bind.so',
  ]) {
    if (without.includes(part.replace('native/', ''))) continue;
    if (existsSync(`${ROOT}${part}`)) cpSync(`${ROOT}${part}`, `${dir}/${part}`, { recursive: true });
  }
  execFileSync('chmod', ['-R', 'a+rX,go-w', dir]);
  return `${dir}/bin/tsdaemon`;
}
export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
export const fixture = (name) => `${FIXTURES}${name}`;

/** { state, ppid } of pid from /proc/PID/stat, or undefined when it is gone. */
export function procStat(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // After "(comm)", which may hold spaces and parentheses: state ppid ...
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

/** All descendants of pid, from /proc (children first found by ppid). */
export function descendants(pid) {
  const parentOf = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(entry);
    if (stat) parentOf.set(Number(entry), stat.ppid);
  }
  const out = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift();
    for (const [child, ppid] of parentOf) {
      if (ppid === parent) {
        out.push(child);
        queue.push(child);
      }
    }
  }
  return out;
}

/** Processes whose environment says supervisor is their tsdaemon (TSDAEMON_PID), wherever they are now. */
function childrenOfSupervisor(supervisor) {
  const marker = `\0TSDAEMON_PID=${supervisor}\0`;
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (`\0${readFileSync(`/proc/${entry}/environ`, 'latin1')}`.includes(marker)) found.push(Number(entry));
    } catch {}
  }
  return found;
}

/** Waits, up to timeoutMs, until none of pids is alive; resolves whether they are all gone. */
export async function gone(pids, timeoutMs = 5000) {
  for (let waited = 0; waited < timeoutMs && pids.some(isAlive); waited += 20) await sleep(20);
  return !pids.some(isAlive);
}

export function isAlive(pid) {
  try {
    process.kill(pid, 0);
    const state = procStat(pid)?.state;
    return state !== undefined && state !== 'Z';
  } catch {
    return false;
  }
}

const kill = (pid, signal) => {
  try {
    process.kill(pid, signal);
  } catch {}
};

export class Daemon {
  constructor(args, { env = {}, cwd, prefix = [], input, raw = false, bin = BIN } = {}) {
    this.output = '';
    this.stdout = '';
    this.stderr = '';
    this.waiters = new Set();
    this.pids = new Set();
    // raw: prefix is the whole command (no tsdaemon), e.g. an app under systemd-socket-activate.
    // "--" before the script, as bin/tsdaemon's own first line does: node would take --env-file for itself.
    const [file, ...fileArgs] = raw ? prefix : [...prefix, process.execPath, '--', bin];
    this.proc = spawn(file, [...fileArgs, ...args], {
      env: { ...process.env, ...env },
      cwd,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (input !== undefined) this.proc.stdin.end(input);
    this.pid = this.proc.pid;
    const onData = (which) => (chunk) => {
      const text = chunk.toString();
      this[which] += text;
      this.output += text;
      for (const match of text.matchAll(/(?:pid=|"childPid":)(\d+)/g)) this.pids.add(Number(match[1]));
      for (const waiter of this.waiters) waiter();
    };
    this.proc.stdout.on('data', onData('stdout'));
    this.proc.stderr.on('data', onData('stderr'));
    this.exited = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => resolve({ code, signal }));
    });
    this.closed = new Promise((resolve) => this.proc.on('close', resolve));
  }

  /** Resolves with the first match of re in the output (stdout + stderr), or rejects after timeoutMs. */
  waitFor(re, timeoutMs = 10_000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = re.exec(this.output);
        if (match) {
          cleanup();
          resolve(match);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${re} in output:\n${this.output}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** The port of the listener called name (or the first tcp/udp listener) once tsdaemon logged it. */
  async port(name) {
    const label = name ? `name=${name} ` : '';
    const jsonLabel = name ? `","name":"${name}"` : '"';
    const re = new RegExp(
      `listening (?:tcp|udp) \\S+:(\\d+) ${label}|"msg":"listening (?:tcp|udp) [^"]*:(\\d+)${jsonLabel}`,
    );
    const match = await this.waitFor(re);
    return Number(match[1] ?? match[2]);
  }

  /** The pid of the child of generation gen once it runs. */
  async childPid(gen = 1) {
    const match = await this.waitFor(new RegExp(`generation ${gen} ready.* pid=(\\d+)`));
    return Number(match[1]);
  }

  signal(signal) {
    kill(this.pid, signal);
  }

  /** Kill tsdaemon and everything below it. Safe to call twice. */
  async cleanup() {
    const all = new Set([...descendants(this.pid), ...this.pids]);
    kill(this.pid, 'SIGKILL');
    for (const pid of all) {
      if (pid === process.pid) continue;
      kill(-pid, 'SIGKILL');
      kill(pid, 'SIGKILL');
    }
    await this.exited;
    // A generation started between the scan above and the SIGKILL (a restart in progress) is found by the
    // TSDAEMON_PID its supervisor gave it.
    for (const pid of childrenOfSupervisor(this.pid)) {
      all.add(pid);
      kill(-pid, 'SIGKILL');
      kill(pid, 'SIGKILL');
    }
    // SIGKILL is asynchronous: wait until they are really gone (and their sockets with them).
    for (let i = 0; i < 100 && [...all].some((pid) => pid !== process.pid && isAlive(pid)); i++)
      await sleep(20);
  }
}

/** Run a short tsdaemon command (status, reload, stop, unit, …); resolves { code, stdout, stderr }. */
export async function runCli(...args) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--', BIN, ...args], {
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    return { code: error.code, stdout: error.stdout, stderr: error.stderr };
  }
}

/** Start tsdaemon and register its cleanup with the test context t. */
export function startDaemon(t, args, options) {
  const daemon = new Daemon(args, options);
  t.after(() => daemon.cleanup());
  return daemon;
}

/** GET over HTTP without keep-alive; resolves { status, body, headers }. */
export function get(target, path = '/', { timeoutMs = 5000, host = '127.0.0.1' } = {}) {
  const options = typeof target === 'number' ? { host, port: target } : { socketPath: target };
  return new Promise((resolve, reject) => {
    const req = http.get({ ...options, path, agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode, body, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
  });
}

export async function getJson(target, path, options) {
  const { body } = await get(target, path, options);
  return JSON.parse(body);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A port that was free a moment ago (for peers such as systemd-socket-activate that need a number). */
export const freePort = () =>
  new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

/**
 * After the test, SIGKILL the process pidOf() names and everything below it: for supervisors that are no
 * longer below the test's process tree (a --daemon, a SIGUSR2 successor).
 */
export function killTreeAfter(t, pidOf) {
  t.after(async () => {
    const pid = pidOf();
    if (!pid || !isAlive(pid)) return;
    const all = [pid, ...descendants(pid)];
    for (const p of all) kill(p, 'SIGKILL');
    await gone(all, 2000);
  });
}
