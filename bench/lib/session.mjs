// What every benchmark script does around its runs: note the machine and the commit, mark everything it
// starts (an environment variable inherited by all its processes) so leftovers can be found and stopped,
// copy the tsdaemon build once (another session may rebuild dist/ mid-run), install PM2 if asked, and
// write docs/bench-<name>.json (+ .svg).
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installPm2, pm2FromPrefix } from './pm2-system.mjs';
import { pidsWithEnv, waitGone } from './proc.mjs';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RUN_MARKER = 'BENCH_RESTART_RUN'; // not TSDAEMON_*: tsdaemon reads those as options
/** Set by bench/all.mjs: a folder where pm2 is already installed, so the scripts share one install. */
const PM2_PREFIX_ENV = 'BENCH_PM2_PREFIX';

export function machine() {
  return {
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model,
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    loadavg: os.loadavg().map((v) => Number(v.toFixed(2))),
  };
}

/** The commit measured, with `+dirty` when src/ or bin/ differ from it. */
export function commit() {
  try {
    const git = (...args) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', 'src', 'bin') ? '+dirty' : ''}`;
  } catch {
    return undefined;
  }
}

/**
 * Starts a benchmark session: marks this process's environment, makes a temp folder with a snapshot of
 * the build (`build`, for createTsdaemonSystem) and, with `pm2: true`, a pm2 install (`pm2.bin`,
 * `pm2.runtimeBin`, `pm2.version`). `end()` stops whatever carries the marker and returns those pids.
 */
export async function openSession(name, { pm2: wantPm2 = false } = {}) {
  if (!existsSync(join(ROOT, 'dist', 'tsdaemon.cjs')))
    throw new Error('dist/ is missing: run `npm run build` first');
  process.env[RUN_MARKER] = randomUUID(); // inherited by everything we start, so leftovers can be found
  const tmp = mkdtempSync(join(os.tmpdir(), `tsdaemon-bench-${name}-`));
  const end = async () => {
    const pids = pidsWithEnv(RUN_MARKER, process.env[RUN_MARKER]);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {} // gone in between
    }
    await waitGone(pids, 3000);
    rmSync(tmp, { recursive: true, force: true });
    return pids;
  };
  process.once('SIGINT', () => end().then(() => process.exit(130)));
  const info = machine();
  console.error(
    `machine: ${info.nproc} cpus (${info.cpu}), node ${info.node}, load ${info.loadavg.join(' ')}`,
  );
  const build = join(tmp, 'tsdaemon');
  // The native addon too when it is built: without it tsdaemon starts a listen helper process.
  for (const part of ['bin', 'dist', 'package.json', 'native/tsdaemon_native.node'])
    if (existsSync(join(ROOT, part))) cpSync(join(ROOT, part), join(build, part), { recursive: true });
  let pm2;
  if (wantPm2) {
    const prefix = process.env[PM2_PREFIX_ENV];
    if (prefix) pm2 = pm2FromPrefix(prefix);
    else {
      console.error('installing pm2@latest into a temporary folder …');
      pm2 = await installPm2(join(tmp, 'pm2'));
      console.error(`pm2 ${pm2.version} installed in ${Math.round(pm2.installMs)} ms`);
    }
  }
  // end(), and a non-zero exit code when the run had left processes behind.
  const close = async () => {
    const left = await end();
    if (left.length) {
      console.error(`stopped processes the run had left behind: ${left.join(' ')}`);
      process.exitCode = 1;
    }
  };
  return { tmp, build, pm2, machine: info, commit: commit(), end, close };
}

/** main().catch(failed('name')): print the error and exit non-zero. */
export const failed = (name) => (error) => {
  console.error(`bench:${name}: ${error.stack ?? error.message}`);
  process.exitCode = 1;
};

/** Writes docs/bench-<name>.json and, for each entry of svgs, docs/bench-<name><suffix>.svg. */
export function writeResults(name, report, svgs = {}) {
  mkdirSync(join(ROOT, 'docs'), { recursive: true });
  const written = [`docs/bench-${name}.json`];
  writeFileSync(join(ROOT, written[0]), `${JSON.stringify(report, null, 1)}\n`);
  for (const [suffix, svg] of Object.entries(svgs)) {
    written.push(`docs/bench-${name}${suffix}.svg`);
    writeFileSync(join(ROOT, written.at(-1)), svg);
  }
  console.error(`wrote ${written.join(', ')}`);
}
