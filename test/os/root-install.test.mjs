// Started as root, tsdaemon refuses to load code that a user other than root could change (its bin, bundle,
// native addon, or a directory above them): one line naming the path, the owner and the fix, exit 77.
// --allow-unsafe-install runs anyway, with a warning. Each case is a copy of the built package in a
// temporary directory, owned as the case needs.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync } from 'node:fs';
import { test } from 'node:test';
import { ROOT, tempDir } from '../helpers/tsdaemon.mjs';

const asRoot = { skip: process.getuid() !== 0 && 'needs root' };
const EXIT_UNSAFE_INSTALL = 77;
const NOBODY = 65534;

/** A copy of the built package at DIR/pkg (DIR root's, 0755); returns DIR/pkg. */
function install(t) {
  const dir = tempDir(t, 'tsdaemon-install-');
  chmodSync(dir, 0o755);
  const pkg = `${dir}/pkg`;
  mkdirSync(pkg, { mode: 0o755 });
  for (const part of ['bin', 'dist', 'package.json', 'native/tsdaemon_native.node']) {
    if (existsSync(`${ROOT}${part}`)) cpSync(`${ROOT}${part}`, `${pkg}/${part}`, { recursive: true });
  }
  execFileSync('chmod', ['-R', 'go-w,a+rX', pkg]);
  return pkg;
}

/** Run pkg's bin (executed as a file, as from a shell) with args as root. */
function run(pkg, args, env = {}) {
  const result = spawnSync(`${pkg}/bin/tsdaemon`, args, {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 20_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const START = ['--ready=timer:50ms', '--', 'true'];

test(
  'as root: a copy owned by nobody is refused naming the file, its owner and the fix; owned by root it runs',
  asRoot,
  (t) => {
    const pkg = install(t);
    execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, pkg]);
    const refused = run(pkg, START);
    assert.equal(refused.code, EXIT_UNSAFE_INSTALL, refused.stderr);
    assert.match(
      refused.stderr,
      new RegExp(
        `^tsdaemon: refusing to run as root: ${pkg}/\\S+ is owned by uid ${NOBODY}( \\(nobody\\))?, who could change code that runs as root; install tsdaemon as root \\(npm install -g\\) or make it root's \\(chown -R root: ${pkg} && chmod -R go-w ${pkg}\\), or pass --allow-unsafe-install\\n$`,
      ),
    );
    execFileSync('chown', ['-R', '0:0', pkg]);
    const accepted = run(pkg, START);
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.match(accepted.stderr, /starting \(start\) generation=1/);
  },
);

test(
  'as root: only the bundle writable by others, or a directory above the package owned by nobody: refused',
  asRoot,
  (t) => {
    const pkg = install(t);
    chmodSync(`${pkg}/dist/tsdaemon.cjs`, 0o666);
    const writable = run(pkg, START);
    assert.equal(writable.code, EXIT_UNSAFE_INSTALL, writable.stderr);
    assert.match(
      writable.stderr,
      new RegExp(`${pkg}/dist/tsdaemon\\.cjs is writable by every user \\(mode 0666\\)`),
    );
    chmodSync(`${pkg}/dist/tsdaemon.cjs`, 0o644);

    const parent = pkg.replace(/\/pkg$/, '');
    chownSync(parent, NOBODY, NOBODY);
    const above = run(pkg, START);
    assert.equal(above.code, EXIT_UNSAFE_INSTALL, above.stderr);
    assert.match(
      above.stderr,
      new RegExp(
        `: ${parent} is owned by uid ${NOBODY}.* \\(chown root: ${parent} && chmod go-w ${parent}\\)`,
      ),
    );
    chownSync(parent, 0, 0);
    assert.equal(run(pkg, START).code, 0);
  },
);

test('as root: the checking module itself owned by nobody is refused before it is loaded', asRoot, (t) => {
  const pkg = install(t);
  chownSync(`${pkg}/dist/launch.cjs`, NOBODY, NOBODY);
  const refused = run(pkg, ['--version']);
  assert.equal(refused.code, EXIT_UNSAFE_INSTALL, refused.stderr);
  assert.match(refused.stderr, new RegExp(`${pkg}/dist/launch\\.cjs is owned by uid ${NOBODY}`));
});

test(
  '--allow-unsafe-install (or TSDAEMON_ALLOW_UNSAFE_INSTALL=true) runs anyway, with one warning',
  asRoot,
  (t) => {
    const pkg = install(t);
    execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, `${pkg}/native`]);
    for (const [args, env] of [
      [['--allow-unsafe-install', ...START], {}],
      [START, { TSDAEMON_ALLOW_UNSAFE_INSTALL: 'true' }],
    ]) {
      const allowed = run(pkg, args, env);
      assert.equal(allowed.code, 0, allowed.stderr);
      const warnings = allowed.stderr.split('\n').filter((line) => line.startsWith('tsdaemon: warning'));
      assert.deepEqual(warnings.length, 1, allowed.stderr);
      assert.match(warnings[0], /running as root although .*tsdaemon_native\.node is owned by uid 65534/);
    }
  },
);

test('not root: the same copy owned by nobody runs as nobody (nothing of root to protect)', asRoot, (t) => {
  const pkg = install(t);
  execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, pkg]);
  const result = spawnSync(
    'setpriv',
    ['--reuid=nobody', '--regid=nogroup', '--clear-groups', `${pkg}/bin/tsdaemon`, ...START],
    {
      encoding: 'utf8',
      cwd: '/tmp',
      timeout: 20_000,
    },
  );
  assert.equal(result.status, 0, result.stderr);
  assert.doesNotMatch(result.stderr, /refusing|warning: running as root/);
});
