// When stderr is systemd's journal (JOURNAL_STREAM names stderr's device and inode), tsdaemon writes its
// lines without its own timestamp and with sd-daemon priority prefixes, so that `journalctl -p warning`
// works; the children's captured lines too (a child's own "<N>" keeps its priority). Here stderr is a
// file and JOURNAL_STREAM is set to that file's real device and inode, as systemd would set it; a real
// journald test is in the systemd tests.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BIN, killTreeAfter, tempDir } from '../helpers/tsdaemon.mjs';

/** Run tsdaemon ARGS with stderr on a file, JOURNAL_STREAM naming that file (or journalStream); its stderr. */
async function runToFile(t, args, journalStream) {
  const path = `${tempDir(t)}/stderr`;
  const fd = openSync(path, 'a');
  const { dev, ino } = fstatSync(fd, { bigint: true });
  const proc = spawn(process.execPath, [BIN, ...args], {
    stdio: ['ignore', 'ignore', fd],
    env: { ...process.env, JOURNAL_STREAM: journalStream ?? `${dev}:${ino}` },
  });
  closeSync(fd);
  killTreeAfter(t, () => proc.pid);
  const code = await new Promise((resolve) => proc.on('exit', resolve));
  return { code, text: readFileSync(path, 'utf8'), dir: path.replace(/\/stderr$/, '') };
}

const CHILD = 'echo to-stdout; echo "<3>the child says: error" >&2; echo "<4>a child warning"; exit 0';

test('stderr is the journal: priority prefixes, no timestamps; the children output with their own priorities', async (t) => {
  const log = `${tempDir(t)}/app.log`;
  const { code, text } = await runToFile(t, [
    `--log-file=${log}`,
    '-vv',
    '--ready=timer:50ms',
    '--',
    'sh',
    '-c',
    CHILD,
  ]);
  assert.equal(code, 0, text);
  const lines = text.trimEnd().split('\n');
  for (const line of lines)
    assert.match(line, /^<[3467]>(info|warn|verbose|debug|error) +\[\d+ [a-z]+\] /, text);
  assert.match(text, /^<4>warn +\[\d+ starting\] the children run as root/m);
  assert.match(text, /^<6>info +\[\d+ starting\] starting \(start\) generation=1$/m);
  assert.match(text, /^<7>debug +\[\d+ starting\] event start( workers=1)?$/m);
  assert.match(text, /^<6>info +\[\d+ \w+\] to-stdout child=stdout generation=1 pid=\d+$/m);
  assert.match(text, /^<3>info +\[\d+ \w+\] the child says: error child=stderr generation=1 pid=\d+$/m);
  assert.match(text, /^<4>info +\[\d+ \w+\] a child warning child=stdout/m);
  // The file keeps its timestamps and the child's text as written.
  const file = readFileSync(log, 'utf8');
  assert.match(file, /^\d{4}-\d\d-\d\dT\S+ info +\[\d+ \w+\] <3>the child says: error child=stderr/m);
  assert.doesNotMatch(file, /^<\d>/m);
});

test('the journal with --log-format=json: one prefixed JSON object per line', async (t) => {
  const { code, text } = await runToFile(t, ['--log-format=json', '--ready=timer:50ms', '--', 'true']);
  assert.equal(code, 0, text);
  for (const line of text.trimEnd().split('\n')) {
    const [, priority, json] = /^<(\d)>(\{.*\})$/.exec(line) ?? [];
    const entry = JSON.parse(json);
    assert.equal(Number(priority), { error: 3, warn: 4, info: 6, debug: 7 }[entry.level], line);
  }
});

test('a usage error in the journal has priority err', async (t) => {
  const { code, text } = await runToFile(t, ['--lame-duck=5x', '--', 'true']);
  assert.equal(code, 64);
  assert.match(text, /^<3>tsdaemon: --lame-duck: '5x' is not a duration/);
});

test('JOURNAL_STREAM that names another file (stderr redirected since): plain lines with timestamps', async (t) => {
  const { code, text } = await runToFile(t, ['--ready=timer:50ms', '--', 'true'], '1:2');
  assert.equal(code, 0, text);
  for (const line of text.trimEnd().split('\n')) assert.match(line, /^\d{4}-\d\d-\d\dT\S+ (info|warn) /);
});
