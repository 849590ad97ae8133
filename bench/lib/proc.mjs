// Processes, ports and clocks for the benchmark. Every process is ended by its pid, never by name.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Epoch milliseconds with sub-millisecond resolution, comparable across our processes. */
export const now = () => performance.timeOrigin + performance.now();

export const sleepUntil = (time) => sleep(Math.max(0, time - now()));

/** Alive and not a zombie (a zombie is gone for our purposes; its parent reaps it). */
export function isAlive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Waits until none of the pids is alive; SIGKILLs those left after timeoutMs and returns them. */
export async function waitGone(pids, timeoutMs) {
  const deadline = now() + timeoutMs;
  while (pids.some(isAlive) && now() < deadline) await sleep(20);
  const left = pids.filter(isAlive);
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  return left;
}

/** Our processes whose environment holds NAME=value: everything this run started carries such a marker. */
export function pidsWithEnv(name, value) {
  const needle = Buffer.from(`\0${name}=${value}\0`);
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (
        Buffer.concat([Buffer.from([0]), readFileSync(`/proc/${pid}/environ`)]).includes(needle) &&
        isAlive(pid)
      )
        pids.push(pid);
    } catch {}
  }
  return pids;
}

/** Resolves with the exit of a spawned child; SIGKILLs it after timeoutMs. */
export async function waitForExit(child, timeoutMs) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function get(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** Polls until 127.0.0.1:port answers 200; returns the time it first did. */
export async function waitForHttp(port, timeoutMs) {
  const deadline = now() + timeoutMs;
  while (now() < deadline) {
    if (await get(port)) return now();
    await sleep(20);
  }
  throw new Error(`nothing answered on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

/** Runs a command to its end and returns its exit code, output and wall time (ms). */
export function run(command, args, { env, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    const started = now();
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    let endedAt;
    child.on('exit', () => {
      endedAt = now();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal, stdout, stderr, ms: endedAt - started, endedAt });
    });
  });
}

/** VmRSS of a process in MiB (/proc/PID/status), or null when it is gone. */
export function rssMiB(pid) {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** CPU time (user + system) a process has used so far, in ms, or null when it is gone. */
export function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS; // utime, stime (fields 14, 15)
  } catch {
    return null;
  }
}

/**
 * Runs `argv` with `ulimit -n maxFds` first (through sh, keeping the pid), or as is without maxFds. Without
 * the right to raise the hard limit (a container without CAP_SYS_RESOURCE, even as root) it takes the
 * hard limit instead.
 */
export function withMaxFds(argv, maxFds) {
  const raise = `ulimit -n ${maxFds} 2>/dev/null || ulimit -n "$(ulimit -Hn)"`;
  return maxFds ? ['/bin/sh', '-c', `${raise}; exec "$0" "$@"`, ...argv] : argv;
}

/** The soft and hard limits of open files of this process (/proc/self/limits). */
export function openFilesLimit() {
  const [, soft, hard] =
    /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8')) ?? [];
  return { soft: Number(soft), hard: Number(hard) };
}

/** One GET / on a new connection: resolves true on a 200, false on a refusal, an error or a timeout. */
function getOnce(port, timeoutMs) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let head = '';
    const finish = (ok) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('connect', () =>
      socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'),
    );
    socket.on('data', (chunk) => {
      head += chunk;
      if (head.includes('\r\n')) finish(head.startsWith('HTTP/1.1 200'));
    });
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
  });
}

/**
 * Polls 127.0.0.1:port with short connection attempts, intervalMs apart, until one is answered with a 200;
 * returns the time the answer came. A connection the kernel queued (a listening socket nobody accepts on
 * yet) waits for its answer instead of being retried.
 */
export async function firstAnswer(port, { intervalMs = 2, timeoutMs = 20_000 } = {}) {
  const deadline = now() + timeoutMs;
  while (now() < deadline) {
    if (await getOnce(port, Math.max(1, deadline - now()))) return now();
    await sleep(intervalMs);
  }
  throw new Error(`nothing answered on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

/**
 * How many TCP sockets the host has (lines of /proc/net/tcp and tcp6, TIME_WAIT included): tsdaemon reads
 * these tables while it opens its listeners, so its start depends on them.
 */
export function hostTcpSockets() {
  let count = 0;
  for (const table of ['tcp', 'tcp6']) {
    try {
      count += readFileSync(`/proc/net/${table}`, 'latin1').split('\n').length - 2; // header, last newline
    } catch {}
  }
  return count;
}
