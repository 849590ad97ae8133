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
