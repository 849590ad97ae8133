// What a new user meets first: --help with every command on one line, "did you mean" for a misspelt
// option, command or config key, TSDAEMON_* variables (an unknown one warns, a near miss and an empty
// TSDAEMON_LISTEN fail), and `tsdaemon doctor` saying what this install can do.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { BIN, ROOT, startDaemon, tempDir } from '../helpers/tsdaemon.mjs';

const EXIT_USAGE = 64;

/** tsdaemon ARGS to its exit: { code, stdout, stderr }. */
function run(args, { env = {}, bin = BIN } = {}) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 20_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('--help lists every command with one line each, before the options', () => {
  const help = execFileSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
  const commands = help.slice(help.indexOf('Commands:'), help.indexOf('Options:'));
  for (const command of ['[run]', 'status', 'reload', 'stop', 'unit', 'doctor']) {
    const lines = commands.split('\n').filter((line) => line.startsWith(`  tsdaemon ${command}`));
    assert.equal(lines.length, 1, `one line for ${command}:\n${commands}`);
    const next = commands.split('\n')[commands.split('\n').indexOf(lines[0]) + 1];
    assert.match(next, /^ {2}(tsdaemon|\()/, `the line for ${command} is not continued:\n${commands}`);
    assert.ok(lines[0].length <= 100, `fits 100 columns: ${lines[0]}`);
  }
  assert.match(help, /--env-file/);
  assert.match(help, /--chdir/);
  assert.match(help, /--allow-unsafe-install/);
});

const TYPOS = [
  [['--wrokers=2', '--', 'true'], /^tsdaemon: Unknown argument: wrokers \(did you mean --workers\?\)$/],
  [
    ['--lame-dcuk=3s', '--', 'true'],
    /^tsdaemon: Unknown argument: lame-dcuk \(did you mean --lame-duck\?\)$/,
  ],
  [
    ['--pidfiel', 'x', '--', 'true'],
    /^tsdaemon: Unknown arguments?: pidfiel.* \(did you mean --pidfile\?\)$/,
  ],
  [
    ['stauts', '--pidfile=/run/x.pid'],
    /^tsdaemon: Unknown arguments?: stauts.* \(did you mean 'tsdaemon status'\?\)$/,
  ],
  [['--bogus-thing', '--', 'true'], /^tsdaemon: Unknown argument: bogus-thing$/],
  [
    ['--listen=:0', 'node', 'app.js'],
    /^tsdaemon: Unknown arguments: node, app\.js \(put the command to run after --\)$/,
  ],
];

for (const [args, says] of TYPOS) {
  test(`tsdaemon ${args.join(' ')}: exit 64 and one line, with a suggestion when one is close`, () => {
    const { code, stderr } = run(args);
    assert.equal(code, EXIT_USAGE, stderr);
    const [line, hint, rest] = stderr.split('\n');
    assert.match(line, says);
    assert.equal(hint, "Run 'tsdaemon --help' for the options.");
    assert.equal(rest, '');
  });
}

test('a misspelt key in the config file is named with the key it probably is', (t) => {
  const dir = tempDir(t);
  writeFileSync(`${dir}/c.json`, JSON.stringify({ lameDcuk: '3s' }));
  const { code, stderr } = run([`--config=${dir}/c.json`, '--', 'true']);
  assert.equal(code, EXIT_USAGE);
  assert.match(
    stderr,
    /^tsdaemon: --config: unknown option 'lameDcuk' in \S+c\.json \(did you mean 'lameDuck'\?\)$/m,
  );
});

test('an unknown TSDAEMON_* variable is ignored with one warning; the service starts', async (t) => {
  const daemon = startDaemon(t, ['--ready=timer:50ms', '--', 'true'], {
    env: { TSDAEMON_IMAGE_TAG: 'v1.2', TSDAEMON_BUILD: '42' },
  });
  assert.equal((await daemon.exited).code, 0, daemon.stderr);
  const warnings = daemon.stderr.split('\n').filter((line) => / warn /.test(line) && /TSDAEMON_/.test(line));
  assert.equal(warnings.length, 1, daemon.stderr);
  assert.match(
    warnings[0],
    /ignoring TSDAEMON_(IMAGE_TAG, TSDAEMON_BUILD|BUILD, TSDAEMON_IMAGE_TAG): no tsdaemon option has these names/,
  );
});

test('a TSDAEMON_* variable one typo from an option is refused, naming the option', () => {
  const { code, stderr } = run(['--', 'true'], { env: { TSDAEMON_USRE: 'nobody' } });
  assert.equal(code, EXIT_USAGE);
  assert.match(
    stderr,
    /^tsdaemon: unknown environment variable TSDAEMON_USRE: did you mean TSDAEMON_USER\? /,
  );
});

test('an empty TSDAEMON_LISTEN is a usage error (it would mean: no socket at all)', () => {
  const { code, stderr } = run(['--', 'true'], { env: { TSDAEMON_LISTEN: '' } });
  assert.equal(code, EXIT_USAGE);
  assert.match(stderr, /^tsdaemon: TSDAEMON_LISTEN is set but empty: give the sockets/);
  const overridden = run(['--listen=127.0.0.1:0', '--ready=timer:50ms', '--', 'true'], {
    env: { TSDAEMON_LISTEN: '' },
  });
  assert.equal(overridden.code, 0, 'a --listen flag wins over the empty variable');
});

test('tsdaemon doctor: Node version, whether the addon is loaded, and what depends on it', (t) => {
  const { code, stdout } = run(['doctor']);
  assert.equal(code, 0);
  assert.match(stdout, new RegExp(`^node +${process.version.replace(/\./g, '\\.')} `, 'm'));
  assert.match(stdout, /^addon +loaded$/m);
  assert.match(stdout, /^ {2}yes {2}sd_notify/m);
  assert.match(stdout, /^ {2}yes {2}reaping orphaned zombies as PID 1/m);

  // A copy without the addon says why and marks what is missing.
  const copy = tempDir(t, 'tsdaemon-no-addon-');
  for (const part of ['bin', 'dist', 'package.json'])
    cpSync(`${ROOT}${part}`, `${copy}/${part}`, { recursive: true });
  const without = run(['doctor'], { bin: `${copy}/bin/tsdaemon` });
  assert.equal(without.code, 0);
  assert.match(
    without.stdout,
    /^addon +not loaded: the native addon was not built \(.*npm rebuild tsdaemon\)$/m,
  );
  assert.match(without.stdout, /^ {2}no {3}sd_notify/m);
});
