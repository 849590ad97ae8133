// `npm run bench:zombies`: PID 1 of a pid namespace (as in a container) under an orphan storm, tsdaemon
// against tini (Debian's /usr/bin/tini) in the same run, alternating. The app orphans a short-lived
// process every 20 ms; each one ends as a zombie that only PID 1 can reap. The host's /proc is sampled
// every 2 ms for zombie children of PID 1: the goal is at most tini's count + 1 at any moment.
// Options: --seconds N (per run, default 5), --rounds N (default 2). Needs root and unshare.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const SECONDS = arg('seconds', 5);
const ROUNDS = arg('rounds', 2);
const STORM = 'while :; do (sleep 0.01 &); sleep 0.02; done';
const UNSHARE = ['unshare', '--pid', '--fork', '--mount-proc'];

const SYSTEMS = {
  tsdaemon: [process.execPath, `${ROOT}bin/tsdaemon`, '--ready=timer:50ms', '--', 'sh', '-c', STORM],
  tini: ['/usr/bin/tini', '--', 'sh', '-c', STORM],
};

function stat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

function childrenOf(pid) {
  const out = [];
  for (const entry of readdirSync('/proc')) {
    if (/^\d+$/.test(entry) && stat(entry)?.ppid === pid) out.push(Number(entry));
  }
  return out;
}

/** Zombie children of pid, from its per-thread children lists (cheap enough to sample every 2 ms). */
function zombiesOf(pid) {
  let count = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    for (const child of readFileSync(`/proc/${pid}/task/${task}/children`, 'latin1').split(' ')) {
      if (child && stat(child)?.state === 'Z') count++;
    }
  }
  return count;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function runOnce(name) {
  const outer = spawn(UNSHARE[0], [...UNSHARE.slice(1), ...SYSTEMS[name]], { stdio: 'ignore' });
  let pid1;
  for (let i = 0; i < 200 && !pid1; i++) {
    await sleep(10);
    [pid1] = childrenOf(outer.pid);
  }
  await sleep(500); // start-up
  const samples = [];
  const until = Date.now() + SECONDS * 1000;
  while (Date.now() < until) {
    try {
      samples.push(zombiesOf(pid1));
    } catch {}
    await sleep(2);
  }
  process.kill(pid1, 'SIGKILL'); // PID 1 dies: the kernel kills the whole namespace
  await new Promise((resolve) => outer.on('exit', resolve));
  samples.sort((a, b) => a - b);
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  return {
    name,
    samples: samples.length,
    max: samples.at(-1),
    p99: samples[Math.floor(samples.length * 0.99)],
    mean: Math.round(mean * 100) / 100,
  };
}

async function main() {
  if (process.getuid() !== 0 || !existsSync('/usr/bin/unshare')) throw new Error('needs root and unshare');
  if (!existsSync('/usr/bin/tini')) throw new Error('needs /usr/bin/tini (apt-get install tini)');
  const results = [];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const name of Object.keys(SYSTEMS)) results.push({ round, ...(await runOnce(name)) });
  }
  console.log('system,round,samples,zombies max,zombies p99,zombies mean');
  for (const r of results) console.log(`${r.name},${r.round},${r.samples},${r.max},${r.p99},${r.mean}`);
  const most = (name) => Math.max(...results.filter((r) => r.name === name).map((r) => r.max));
  const verdict = most('tsdaemon') <= most('tini') + 1 ? 'met' : 'MISSED';
  console.log(`goal (tsdaemon max <= tini max + 1): ${verdict} (${most('tsdaemon')} vs ${most('tini')})`);
}

main().catch((error) => {
  console.error(`bench:zombies: ${error.message}`);
  process.exitCode = 1;
});
