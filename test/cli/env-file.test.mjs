// --env-file FILE: variables for the children, in the syntax of docs/operations.md ("Environment files").
// Run as an operator does, through the executable itself (bin/tsdaemon starts node with "--" before the
// script, so node does not take --env-file for itself: without that, node exits 9 on a missing file and
// applies a NODE_OPTIONS line of an existing one to tsdaemon).
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { BIN, Daemon, startDaemon, tempDir, worldReadableBin } from '../helpers/tsdaemon.mjs';

const EXIT_USAGE = 64;

/** tsdaemon started as `bin/tsdaemon ARGS` (the file executed, as from a shell), not `node bin/tsdaemon`. */
const direct = (t, args, options = {}) =>
  startDaemon(t, [], { ...options, prefix: [BIN, ...args], raw: true });

test('the variables of --env-file reach the children, in the documented syntax; tsdaemon itself ignores them', async (t) => {
  const dir = tempDir(t);
  writeFileSync(
    `${dir}/app.env`,
    [
      '# a comment, and a blank line',
      '',
      'PLAIN=value with spaces   ',
      'export EXPORTED=yes',
      '  INDENTED = around the equals sign',
      'HASH=a#b # a comment after a blank',
      "SINGLE='$HOME stays, \\n too' # comment",
      'DOUBLE="line\\nbreak \\"quoted\\" \\\\ $HOME"',
      'EMPTY=',
      'TWICE=first',
      'TWICE=second',
      'WINDOWS=crlf\r',
      // For the children's node, never for tsdaemon's own (node would apply it there if it saw --env-file).
      'NODE_OPTIONS=--title=from-env-file',
    ].join('\n'),
  );
  const names = ['PLAIN', 'EXPORTED', 'INDENTED', 'HASH', 'SINGLE', 'DOUBLE', 'EMPTY', 'TWICE', 'WINDOWS'];
  const script = `node -e 'console.log("ENV " + JSON.stringify(Object.fromEntries(${JSON.stringify(names)}.map((n) => [n, process.env[n]]))) + " " + process.title)'`;
  const daemon = direct(t, [`--env-file=${dir}/app.env`, '--ready=timer:50ms', '--', 'sh', '-c', script], {
    env: { HOME: '/home/x' },
  });
  assert.equal((await daemon.exited).code, 0, daemon.output);
  const [, json, title] = /^ENV (\{.*\}) (.*)$/m.exec(daemon.stdout);
  assert.deepEqual(JSON.parse(json), {
    PLAIN: 'value with spaces',
    EXPORTED: 'yes',
    INDENTED: 'around the equals sign',
    HASH: 'a#b',
    SINGLE: '$HOME stays, \\n too',
    DOUBLE: 'line\nbreak "quoted" \\ $HOME',
    EMPTY: '',
    TWICE: 'second',
    WINDOWS: 'crlf',
  });
  assert.equal(title, 'from-env-file', "the child's node got NODE_OPTIONS from the file");
  assert.match(daemon.stderr, /starting \(start\)/, 'tsdaemon itself ran normally');
});

test('a missing --env-file is tsdaemon usage error naming the file, not node exiting 9', async (t) => {
  const daemon = direct(t, ['--env-file=/nonexistent/app.env', '--', 'true']);
  assert.equal((await daemon.exited).code, EXIT_USAGE, daemon.output);
  assert.equal(
    daemon.stderr,
    "tsdaemon: --env-file: cannot read '/nonexistent/app.env': ENOENT\nRun 'tsdaemon --help' for the options.\n",
  );
  const spaced = direct(t, ['--env-file', '/nonexistent/app.env', '--', 'true']);
  assert.equal((await spaced.exited).code, EXIT_USAGE, spaced.output);
});

const MALFORMED = [
  ['no equals sign', 'GOOD=1\nJUST_A_NAME\n', /app\.env:2: 'JUST_A_NAME' is not KEY=VALUE/],
  ['a bad name', 'GOOD=1\n\n1ST=x\n', /app\.env:3: '1ST=x' is not KEY=VALUE/],
  ['an open quote', 'A="never closed\n', /app\.env:1: the " quote is not closed on this line/],
  ['text after the quote', "A='x' y\n", /app\.env:1: 'y' after the closing quote \(quote the whole value\)/],
  [
    'a variable of the protocol',
    'LISTEN_FDS=3\n',
    /app\.env:1: LISTEN_FDS is set by tsdaemon for every child/,
  ],
  ["tsdaemon's own options", 'TSDAEMON_LISTEN=:80\n', /app\.env:1: TSDAEMON_LISTEN is set by tsdaemon/],
];

for (const [what, text, says] of MALFORMED) {
  test(`--env-file with ${what}: usage error naming the file and line`, async (t) => {
    const dir = tempDir(t);
    writeFileSync(`${dir}/app.env`, text);
    const daemon = new Daemon([`--env-file=${dir}/app.env`, '--', 'true']);
    t.after(() => daemon.cleanup());
    assert.equal((await daemon.exited).code, EXIT_USAGE);
    const [line, hint, ...rest] = daemon.stderr.split('\n');
    assert.match(line, /^tsdaemon: --env-file: \/tmp\/\S+\/app\.env:\d+: /);
    assert.match(line, says);
    assert.equal(hint, "Run 'tsdaemon --help' for the options.");
    assert.deepEqual(rest, ['']);
  });
}

test('--env-file is read as root before the drop: a file only root may read works with --user', {
  skip: process.getuid() !== 0 && 'needs root',
}, async (t) => {
  const dir = tempDir(t);
  writeFileSync(`${dir}/secret.env`, 'SECRET=s3cret\n');
  chmodSync(`${dir}/secret.env`, 0o600);
  const daemon = startDaemon(
    t,
    [
      '--user=nobody',
      `--env-file=${dir}/secret.env`,
      '--ready=timer:50ms',
      '--',
      'sh',
      '-c',
      'echo "SECRET=$SECRET as $(id -un)"',
    ],
    { bin: worldReadableBin(t), cwd: '/tmp' },
  );
  assert.equal((await daemon.exited).code, 0, daemon.output);
  assert.match(daemon.stdout, /^SECRET=s3cret as nobody$/m);
});
