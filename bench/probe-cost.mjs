// What the readiness probe (src/os/readiness/accept-probe.ts) costs while a child starts, and how soon it sees a
// pre-fork server's worker, on a quiet host and with many processes on it. Not part of `npm test`.
//
//   node bench/probe-cost.mjs [--rounds 500] [--sleepers 1000] [--cpu-seconds 3] [--prefork-runs 5] [--json]
//
// round:    µs per probe, CPU time and wall time (the mean over --rounds back-to-back probes; every 3rd one
//           re-reads the group's membership from /proc) on a child that never becomes ready, so every probe
//           does the full work. On a busy machine wall time is several times the CPU time.
// cpu:      % of one core this whole process takes (probe, timer, GC) while it probes at the real pace
//           (every 20 ms) for --cpu-seconds; and the same with a timer that does nothing, for comparison.
// scan:     µs of CPU for one full scan of every /proc/PID/stat (how the group was found before the
//           tracker), for processGroupMembers() (one look, pids allocated after the child only) and for
//           describeWaiting() (what the not-ready warning calls).
// prefork:  ms from a pre-fork worker starting to wait in poll() (it prints the time) to tsdaemon's
//           "generation 1 ready" log line, over --prefork-runs runs of the real bin/tsdaemon.
// The children: "node" (a Node process with its ~10 threads, not listening), "c" (one C process in
// nanosleep), "group" (sh with two C children). --sleepers extra `sleep` processes are started for the
// second pass (and killed by pid at the end). Writes docs/bench-probe.json.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { processGroupMembers } from '../dist/os/procfs/process-group.js';
import { createAcceptProbe } from '../dist/os/readiness/accept-probe.js';
import { describeWaiting } from '../dist/os/readiness/waiting.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '500' },
    sleepers: { type: 'string', default: '1000' },
    'cpu-seconds': { type: 'string', default: '3' },
    'prefork-runs': { type: 'string', default: '5' },
    json: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(values.rounds);
const SLEEPERS = Number(values.sleepers);
const CPU_MS = Number(values['cpu-seconds']) * 1000;
const PREFORK_RUNS = Number(values['prefork-runs']);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const tmp = mkdtempSync('/tmp/tsdaemon-bench-probe-');
const server = `${tmp}/wait-server`;
execFileSync('cc', ['-O1', '-o', server, `${ROOT}test/fixtures/wait-server.c`]);
const listener = net.createServer();
await new Promise((resolve) => listener.listen(0, '127.0.0.1', resolve));
const fd = listener._handle.fd;
const inodes = new Set([Number(/\d+/.exec(readlinkSync(`/proc/self/fd/${fd}`))[0])]);
const started = [];
const spawnKept = (command, args, options = {}) => {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit', fd], ...options });
  started.push(child.pid);
  return child;
};

const CHILDREN = {
  node: () => spawnKept(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { detached: true }),
  c: () => spawnKept(server, ['sleepy'], { detached: true }),
  group: () => spawnKept('sh', ['-c', `${server} sleepy & ${server} sleepy & wait`], { detached: true }),
};

/** µs per probe: CPU time (what the probe costs) and wall time (inflated on a busy machine). */
function roundCost(pid) {
  const probe = createAcceptProbe(pid, inodes);
  for (let i = 0; i < 8; i++) probe.probe();
  const cpu = process.cpuUsage();
  const begin = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS; i++) if (probe.probe()) throw new Error('the child became ready');
  const wall = Number(process.hrtime.bigint() - begin) / ROUNDS / 1000;
  const used = process.cpuUsage(cpu);
  return { cpu: Math.round((used.user + used.system) / ROUNDS), wall: Math.round(wall) };
}

async function cpuShare(pid) {
  const probe = pid === undefined ? { probe() {} } : createAcceptProbe(pid, inodes);
  const before = process.cpuUsage();
  const begin = performance.now();
  const timer = setInterval(() => probe.probe(), 20);
  await sleep(CPU_MS);
  clearInterval(timer);
  const used = process.cpuUsage(before);
  return ((used.user + used.system) / 1000 / (performance.now() - begin)) * 100;
}

/** µs of CPU per call of f (20 calls). */
function cpuPerCall(f) {
  const before = process.cpuUsage();
  for (let i = 0; i < 20; i++) f();
  const used = process.cpuUsage(before);
  return Math.round((used.user + used.system) / 20);
}

/** A full scan of every /proc/PID/stat, as the probe found the group before the tracker. */
function fullScan(pgid) {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]?.split(' ')[2] === String(pgid);
      } catch {
        return false;
      }
    });
}

async function preforkLatency() {
  const out = [];
  for (let run = 0; run < PREFORK_RUNS; run++) {
    const daemon = spawn(
      process.execPath,
      [`${ROOT}bin/tsdaemon`, '--ready-timeout=5s', '--listen=127.0.0.1:0', '--', server, 'prefork'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let text = '';
    daemon.stdout.on('data', (chunk) => {
      text += chunk;
    });
    daemon.stderr.on('data', (chunk) => {
      text += chunk;
    });
    for (let i = 0; i < 500 && !/generation 1 ready/.test(text); i++) await sleep(10);
    const waits = Number(/waits from (\d+) ms/.exec(text)?.[1]);
    const ready = Date.parse(/(\S+Z) \S+\s+\[[^\]]*\] starting -> running/.exec(text)?.[1] ?? '');
    if (waits && ready) out.push(ready - waits);
    daemon.kill('SIGTERM');
    await new Promise((resolve) => daemon.on('exit', resolve));
  }
  return out;
}

async function pass(label) {
  const processes = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).length;
  const result = { label, processes, idleCpuPercent: Number((await cpuShare()).toFixed(2)), children: {} };
  for (const [name, make] of Object.entries(CHILDREN)) {
    const child = make();
    await sleep(400);
    result.children[name] = {
      roundUs: roundCost(child.pid),
      cpuPercent: Number((await cpuShare(child.pid)).toFixed(2)),
      fullScanUs: cpuPerCall(() => fullScan(child.pid)),
      groupNowUs: cpuPerCall(() => processGroupMembers(child.pid)),
      describeUs: cpuPerCall(() => describeWaiting(child.pid, inodes)),
    };
    process.kill(-child.pid, 'SIGKILL');
  }
  const latencies = await preforkLatency();
  result.preforkMs = { median: median(latencies), max: Math.max(...latencies), runs: latencies };
  return result;
}

const results = [];
try {
  results.push(await pass('quiet host'));
  for (let i = 0; i < SLEEPERS; i++) spawnKept('sleep', ['600'], { stdio: 'ignore' });
  await sleep(1000);
  results.push(await pass(`${SLEEPERS} more processes`));
} finally {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  listener.close();
  rmSync(tmp, { recursive: true, force: true });
}

if (values.json) console.log(JSON.stringify(results, null, 2));
else {
  for (const r of results) {
    console.log(
      `${r.label} (${r.processes} processes in /proc; this process with no probe: ${r.idleCpuPercent}% of a core)`,
    );
    for (const [name, c] of Object.entries(r.children)) {
      console.log(
        `  ${name.padEnd(6)} probe round ${c.roundUs.cpu} µs CPU (${c.roundUs.wall} µs wall), ${c.cpuPercent}% of a core at 20 ms; full /proc scan ${c.fullScanUs} µs, processGroupMembers ${c.groupNowUs} µs, describeWaiting ${c.describeUs} µs (CPU)`,
      );
    }
    console.log(
      `  pre-fork worker seen after ${r.preforkMs.median} ms (median; max ${r.preforkMs.max}; ${r.preforkMs.runs.join(', ')})`,
    );
  }
}
writeFileSync(
  `${ROOT}docs/bench-probe.json`,
  `${JSON.stringify({ date: new Date().toISOString(), results }, null, 2)}\n`,
);
