// --log-file across hot restarts and logrotate: every line written once (also when stderr is that very
// file: 2>>FILE, --daemon), no debug lines at the default level, and a file moved or deleted without a
// SIGHUP is noticed and continued in a new file at the path, with a note that says which it was.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { test } from 'node:test';
import { BIN, fixture, gone, killTreeAfter, sleep, startDaemon, tempDir } from '../helpers/tsdaemon.mjs';

const read = (path) => (existsSync(path) ? readFileSync(path, 'utf8') : '');

async function waitForText(path, re, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const match = re.exec(read(path));
    if (match) return match;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${re} in ${path}:\n${read(path)}`);
}

/** Lines that occur more than once (each line starts with its timestamp, so a repeat is a duplicate). */
function repeated(text) {
  const seen = new Map();
  for (const line of text.split('\n').filter(Boolean)) seen.set(line, (seen.get(line) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([line, n]) => `${n}x ${line}`);
}

/** Two hot restarts, each waited for in the log file, then a drain. */
async function twoRestarts(log, pid) {
  await waitForText(log, /generation 1 ready/);
  process.kill(pid, 'SIGHUP');
  await waitForText(log, /generation 2 ready/);
  process.kill(pid, 'SIGHUP');
  await waitForText(log, /generation 3 ready/);
  process.kill(pid, 'SIGTERM');
  await waitForText(log, /draining -> stopped/);
}

function assertEachLineOnce(text) {
  assert.deepEqual(repeated(text), [], `every line once:\n${text}`);
  assert.doesNotMatch(text, /^\S+ debug /m, 'no debug lines at the default level');
  assert.equal(text.match(/generation 3 ready/g)?.length, 1);
}

test('--log-file with stderr appended to the same file (2>>FILE): each line once across two SIGHUPs', async (t) => {
  const log = `${tempDir(t)}/app.log`;
  const fd = openSync(log, 'a');
  const proc = spawn(
    process.execPath,
    [BIN, `--log-file=${log}`, '--listen=127.0.0.1:0', '--', 'node', fixture('env-server.js')],
    { stdio: ['ignore', 'ignore', fd] },
  );
  closeSync(fd);
  killTreeAfter(t, () => proc.pid);
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  await twoRestarts(log, proc.pid);
  assert.equal(await exited, 0);
  assertEachLineOnce(read(log));
});

test('--daemon --log-file: each line once across two SIGHUPs', async (t) => {
  const dir = tempDir(t);
  const log = `${dir}/app.log`;
  const pidfile = `${dir}/app.pid`;
  const started = startDaemon(t, [
    '--daemon',
    `--pidfile=${pidfile}`,
    `--log-file=${log}`,
    '--listen=127.0.0.1:0',
    '--',
    'node',
    fixture('env-server.js'),
  ]);
  let pid = 0;
  killTreeAfter(t, () => pid);
  assert.equal((await started.exited).code, 0);
  pid = Number(readFileSync(pidfile, 'utf8'));
  await twoRestarts(log, pid);
  await gone([pid], 2000);
  assertEachLineOnce(read(log));
});

test('a log file moved away without a SIGHUP (logrotate without postrotate) is continued at the path', async (t) => {
  const dir = tempDir(t);
  const log = `${dir}/app.log`;
  const daemon = startDaemon(t, [
    `--log-file=${log}`,
    '--listen=127.0.0.1:0',
    '--',
    'node',
    fixture('env-server.js'),
  ]);
  await waitForText(log, /generation 1 ready/);
  renameSync(log, `${log}.1`);
  const moved = await waitForText(log, /.*was moved away.*/, 5000);
  assert.match(
    moved[0],
    /^\S+ info +\[\d+ running\] log file .*app\.log was moved away: continuing in a new file at this path$/,
  );
  daemon.signal('SIGUSR1');
  await waitForText(log, / status /);
  assert.doesNotMatch(read(`${log}.1`), / status /, 'the moved file gets no more lines');
  assert.match(daemon.stderr, /was moved away/, 'the note is on stderr too');

  unlinkSync(log);
  const deleted = await waitForText(log, /.*was deleted.*/, 5000);
  assert.match(
    deleted[0],
    /^\S+ warn +\[\d+ running\] log file .*app\.log was deleted: continuing in a new file at this path$/,
  );
  daemon.signal('SIGTERM');
  assert.equal((await daemon.exited).code, 0);
  assert.match(read(log), /draining -> stopped/);
});
