// Before the first child starts, tsdaemon checks as the children's user (after the --user drop) that their
// working directory (the current one, or --chdir) can be entered and the command found and run: one line
// naming the path, the user and the fix, with the exit code of docs/errors.md, instead of `spawn /bin/sh
// EACCES`. And --chdir: the children start there.
import assert from 'node:assert/strict';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  writeFileSync,
} from 'node:fs';
import { test } from 'node:test';
import { fixture, getJson, startDaemon, tempDir, worldReadableBin } from '../helpers/tsdaemon.mjs';

const asRoot = { skip: process.getuid() !== 0 && 'needs root to drop to nobody' };
const EXIT_SPAWN = 68;
const EXIT_NOT_EXECUTABLE = 126;

/** A directory every user can search, with a private subdirectory only root may enter. */
function layout(t) {
  const dir = tempDir(t);
  chmodSync(dir, 0o755);
  mkdirSync(`${dir}/private`, { mode: 0o700 });
  writeFileSync(`${dir}/private/app.js`, 'setInterval(() => {}, 1000);\n');
  return dir;
}

/** The one error line of a failed start (log form), after checking there is exactly one. */
function errorLine(daemon) {
  const errors = daemon.stderr.split('\n').filter((line) => / error +\[/.test(line));
  assert.equal(errors.length, 1, daemon.stderr);
  assert.doesNotMatch(daemon.stderr, /spawn \/bin\/sh|EACCES\n.*\n/);
  return errors[0];
}

test(
  '--user that cannot enter the working directory: exit 68, one line naming the directory, the user and the fix',
  asRoot,
  async (t) => {
    const dir = layout(t);
    const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--user=nobody', '--', 'node', 'app.js'], {
      cwd: `${dir}/private`,
      bin: worldReadableBin(t),
    });
    assert.equal((await daemon.exited).code, EXIT_SPAWN);
    const line = errorLine(daemon);
    assert.match(
      line,
      new RegExp(
        `nobody cannot enter the working directory ${dir}/private: EACCES; give nobody search permission on it \\(chmod o\\+x ${dir}/private\\) or start in another directory \\(--chdir=DIR\\) code=child-cwd exitCode=68$`,
      ),
    );
    assert.doesNotMatch(daemon.stderr, /generation 1/, 'no child was started');
  },
);

test(
  '--chdir into a directory below one that --user cannot search: the blocking directory is named',
  asRoot,
  async (t) => {
    const dir = layout(t);
    mkdirSync(`${dir}/private/inner`, { mode: 0o755 });
    const daemon = startDaemon(t, ['--user=nobody', `--chdir=${dir}/private/inner`, '--', 'true'], {
      cwd: '/tmp',
      bin: worldReadableBin(t),
    });
    assert.equal((await daemon.exited).code, EXIT_SPAWN);
    assert.match(
      errorLine(daemon),
      new RegExp(
        `nobody cannot enter the working directory ${dir}/private/inner \\(no search permission on ${dir}/private\\): EACCES; give nobody search permission on it \\(chmod o\\+x ${dir}/private\\)`,
      ),
    );
  },
);

test(
  '--user that cannot run the command (mode 0700, or in a directory it cannot search): exit 126 naming the user',
  asRoot,
  async (t) => {
    const dir = layout(t);
    chmodSync(`${dir}/private`, 0o755);
    copyFileSync('/bin/true', `${dir}/private/mytrue`);
    chmodSync(`${dir}/private/mytrue`, 0o700);
    const bin = worldReadableBin(t);
    const own = startDaemon(t, ['--user=nobody', `--chdir=${dir}/private`, '--', './mytrue'], {
      cwd: '/tmp',
      bin,
    });
    assert.equal((await own.exited).code, EXIT_NOT_EXECUTABLE);
    assert.match(
      errorLine(own),
      new RegExp(
        `command not executable by nobody: \\./mytrue \\(give nobody execute permission \\(chmod o\\+rx ${dir}/private/mytrue\\)`,
      ),
    );

    mkdirSync(`${dir}/sbin`, { mode: 0o700 });
    copyFileSync('/bin/true', `${dir}/sbin/mytrue2`);
    const inPath = startDaemon(t, ['--user=nobody', '--', 'mytrue2'], {
      cwd: '/tmp',
      bin,
      env: { PATH: `${dir}/sbin:${process.env.PATH}` },
    });
    assert.equal((await inPath.exited).code, EXIT_NOT_EXECUTABLE);
    assert.match(
      errorLine(inPath),
      new RegExp(
        `command not executable by nobody: ${dir}/sbin/mytrue2 \\(no search permission on ${dir}/sbin; give nobody access \\(chmod o\\+x ${dir}/sbin\\)`,
      ),
    );
  },
);

test('--chdir: the children start in that directory, with PWD set to it; relative paths of tsdaemon stay where they were', async (t) => {
  const dir = realpathSync(tempDir(t));
  mkdirSync(`${dir}/app`);
  copyFileSync(fixture('env-server.js'), `${dir}/app/server.js`);
  const daemon = startDaemon(
    t,
    [
      '--listen=127.0.0.1:0',
      '--chdir=app',
      '--pidfile=app.pid',
      '--',
      'sh',
      '-c',
      'pwd -P > cwd.txt; echo "$PWD" >> cwd.txt; exec node server.js',
    ],
    { cwd: dir },
  );
  const port = await daemon.port();
  const seen = await getJson(port, '/');
  assert.ok(seen.pid > 0, 'node server.js was found relative to --chdir');
  assert.deepEqual(readFileSync(`${dir}/app/cwd.txt`, 'utf8').trim().split('\n'), [
    `${dir}/app`,
    `${dir}/app`,
  ]);
  assert.ok(existsSync(`${dir}/app.pid`), 'the relative --pidfile is where tsdaemon was started');
  daemon.signal('SIGTERM');
  assert.equal((await daemon.exited).code, 0);
});
