// Bad input and failed binds: one clear line naming the option, the value and the fix, a documented exit
// code, and nothing left behind.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { BIN, startDaemon, tempDir, worldReadableBin } from '../helpers/tsdaemon.mjs';

const EXIT_USAGE = 64;
const EXIT_LISTEN = 65;

const usageCases = [
  [
    ['--listen=127.0.0.1:99999', '--', 'true'],
    /--listen '127\.0\.0\.1:99999': port '99999' must be a number from 0 to 65535/,
  ],
  [['--listen=::1:80', '--', 'true'], /IPv6 addresses need brackets: \[::1\]:80/],
  [['--listen=unix:/tmp/x.sock,backlog=0', '--', 'true'], /backlog=0: must be a number from 1 to 65535/],
  [['--listen=:80,mode=0660', '--', 'true'], /option 'mode' does not apply to a tcp listener/],
  [['--lame-duck=5x', '--', 'true'], /--lame-duck: '5x' is not a duration/],
  [['--ready-timeout=0s', '--', 'true'], /--ready-timeout: '0s' must be more than 0/],
  [['--stop-signal=SIGNOPE', '--', 'true'], /--stop-signal: 'SIGNOPE' is not a signal/],
  [['--log-level=loud', '--', 'true'], /log-level.*loud.*error.*debug/],
  [['--bogus', '--', 'true'], /Unknown argument: bogus/],
  [['--listen=:0'], /no command to run: put it after --/],
  [
    ['--config=/nonexistent/tsdaemon.json', '--', 'true'],
    /--config: cannot read '\/nonexistent\/tsdaemon\.json': ENOENT/,
  ],
  [['--stop-signal=9', '--', 'true'], /--stop-signal: '9' is not a signal/],
  [['--lame-duck', '--', 'true'], /Not enough arguments following: lame-duck/],
  [
    ['--log-file=/etc/passwd/x.log', '--', 'true'],
    /--log-file: cannot open '\/etc\/passwd\/x\.log' for appending: ENOTDIR/,
  ],
  [['--listen=127.0.0.1:0', 'true'], /Unknown argument: true \(put the command to run after --\)/],
];

for (const [args, message] of usageCases) {
  test(`usage error: ${args.join(' ')} → exit 64 and one line`, async (t) => {
    const daemon = startDaemon(t, args);
    const { code } = await daemon.exited;
    assert.equal(code, EXIT_USAGE);
    const lines = daemon.stderr.trim().split('\n');
    assert.ok(lines.length <= 2, `at most two lines, got:\n${daemon.stderr}`);
    assert.match(lines[0], /^tsdaemon: /);
    assert.match(lines[0], message);
    assert.match(daemon.stderr, /Run 'tsdaemon --help'/);
  });
}

test('a malformed config file and an unknown key in it are named', async (t) => {
  const dir = tempDir(t);
  writeFileSync(`${dir}/bad.json`, '{ "listen": [":80",');
  writeFileSync(`${dir}/unknown.json`, '{ "listne": [":80"] }');
  const bad = startDaemon(t, [`--config=${dir}/bad.json`, '--', 'true']);
  assert.equal((await bad.exited).code, EXIT_USAGE);
  assert.match(bad.stderr, /--config: '.*bad\.json' is not valid JSON/);
  const unknown = startDaemon(t, [`--config=${dir}/unknown.json`, '--', 'true']);
  assert.equal((await unknown.exited).code, EXIT_USAGE);
  assert.match(unknown.stderr, /--config: unknown option 'listne'/);
});

test('an unknown TSDAEMON_ variable is named as such; identity variables of a parent tsdaemon are ignored', async (t) => {
  const typo = startDaemon(t, ['--', 'true'], { env: { TSDAEMON_LISTNE: ':80' } });
  assert.equal((await typo.exited).code, EXIT_USAGE);
  assert.match(typo.stderr, /unknown environment variable TSDAEMON_LISTNE/);
  const nested = startDaemon(t, ['--', 'true'], {
    env: { TSDAEMON_PID: '1', TSDAEMON_GENERATION: '3', TSDAEMON_WORKER: '0', TSDAEMON_LISTENERS: '[]' },
  });
  assert.equal((await nested.exited).code, 0);
});

test('--help shows examples; --version prints the version', () => {
  const help = execFileSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
  assert.match(help, /Examples:/);
  assert.match(help, /--listen=:8080 -- node app\.js/);
  const version = execFileSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' });
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  assert.equal(version.trim(), pkg.version);
});

test('port in use: exit 65, the port and a way to find its owner, no child started', async (t) => {
  const first = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'sleep', '30']);
  const port = await first.port();
  const second = startDaemon(t, [`--listen=127.0.0.1:${port}`, '--', 'sleep', '30']);
  assert.equal((await second.exited).code, EXIT_LISTEN);
  assert.match(
    second.stderr,
    new RegExp(
      `cannot bind --listen=127\\.0\\.0\\.1:${port}: EADDRINUSE \\(another socket holds port ${port}`,
    ),
  );
  assert.doesNotMatch(second.stderr, /generation 1/);
});

test('the same port twice in one command line is refused too', async (t) => {
  const probe = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'sleep', '30']);
  const port = await probe.port();
  await probe.cleanup();
  const daemon = startDaemon(t, [
    `--listen=127.0.0.1:${port}`,
    `--listen=127.0.0.1:${port}`,
    '--',
    'sleep',
    '30',
  ]);
  assert.equal((await daemon.exited).code, EXIT_LISTEN);
  assert.match(daemon.stderr, /EADDRINUSE/);
});

test('unknown host: exit 65 naming the host', async (t) => {
  const daemon = startDaemon(t, ['--listen=no-such-host.invalid:8080', '--', 'true']);
  assert.equal((await daemon.exited).code, EXIT_LISTEN);
  assert.match(daemon.stderr, /cannot resolve host 'no-such-host\.invalid'/);
});

test('a port below 1024 as a non-root user: EACCES with the fix, nothing left behind', {
  skip: process.getuid() !== 0 && 'needs root to become nobody',
}, async (t) => {
  const start = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'));
  if (start <= 81) return t.skip(`this machine lets anyone bind ports from ${start} up`);
  const dir = tempDir(t);
  // Sticky, like /tmp: nobody may create the socket there, and nobody else may replace it.
  execFileSync('chmod', ['1777', dir]);
  const sock = `${dir}/app.sock`;
  const daemon = startDaemon(t, [`--listen=unix:${sock}`, '--listen=127.0.0.1:81', '--', 'true'], {
    prefix: ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'],
    bin: worldReadableBin(t),
  });
  assert.equal((await daemon.exited).code, EXIT_LISTEN);
  assert.match(
    daemon.stderr,
    /cannot bind --listen=127\.0\.0\.1:81: EACCES \(ports below 1024 need root or CAP_NET_BIND_SERVICE/,
  );
  assert.equal(existsSync(sock), false, 'the unix socket bound first was removed again');
});

test('a unix socket in a directory that does not exist: ENOENT naming the directory', async (t) => {
  const daemon = startDaemon(t, ['--listen=unix:/nonexistent-dir-tsdaemon/x.sock', '--', 'true']);
  assert.equal((await daemon.exited).code, EXIT_LISTEN);
  assert.match(
    daemon.stderr,
    /ENOENT \(the directory \/nonexistent-dir-tsdaemon does not exist; create it first\)/,
  );
});

const [major, minor] = process.versions.node.split('.').map(Number);
const hasReusePort = major > 22 || (major === 22 && minor >= 12);

test('reuseport: refused with the reason on a Node without SO_REUSEPORT support', {
  skip: hasReusePort && 'this Node supports it',
}, async (t) => {
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0,reuseport', '--', 'true']);
  assert.equal((await daemon.exited).code, EXIT_USAGE);
  assert.match(daemon.stderr, /reuseport needs Node\.js >= 22\.12 \(this is v\d+/);
});

test('reuseport: two supervisors share one port', {
  skip: !hasReusePort && 'needs Node >= 22.12',
}, async (t) => {
  const first = startDaemon(t, ['--listen=127.0.0.1:0,reuseport', '--', 'sleep', '30']);
  const port = await first.port();
  const second = startDaemon(t, [`--listen=127.0.0.1:${port},reuseport`, '--', 'sleep', '30']);
  await second.waitFor(/starting \(start\)/);
  assert.match(second.output, new RegExp(`listening tcp 127\\.0\\.0\\.1:${port}`));
});
