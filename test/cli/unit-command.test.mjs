// `tsdaemon unit` as a command (the units it prints run under a real systemd in test/engines/systemd-unit.test.mjs):
// what goes into the unit for each option, and one clear line with exit 64 for what cannot be a unit.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { linkSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { BIN, ROOT, tempDir } from '../helpers/tsdaemon.mjs';

const run = promisify(execFile);
const NODE = execFileSync('sh', ['-c', 'command -v node'], { encoding: 'utf8' }).trim();

/** tsdaemon unit ARGS in the checkout; resolves { code, stdout, stderr }. */
async function unit(args, { env = {}, node = process.execPath, cwd = ROOT } = {}) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('TSDAEMON_')),
  );
  try {
    const { stdout, stderr } = await run(node, [BIN, 'unit', ...args], { cwd, env: { ...clean, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    return { code: error.code, stdout: error.stdout, stderr: error.stderr };
  }
}

const line = (text, key) =>
  text
    .split('\n')
    .find((l) => l.startsWith(`${key}=`))
    ?.slice(key.length + 1);

test('Type=notify: ExecStart is the exact command line with absolute paths; ExecReload over a control socket; timeouts from the options', async () => {
  const { code, stdout } = await unit([
    '--type=notify',
    '--listen=:8080',
    '--user=nobody',
    '--lame-duck-delay=5s',
    '--lame-duck=20s',
    '--ready-timeout=2m',
    '--',
    'node',
    'app.js',
    'two words',
    '100%',
  ]);
  assert.equal(code, 0);
  assert.equal(line(stdout, 'Type'), 'notify');
  assert.equal(
    line(stdout, 'ExecStart'),
    `${BIN} --listen=:8080 --user=nobody --lame-duck-delay=5s --lame-duck=20s --ready-timeout=2m --control=/run/app/control.sock -- ${NODE} app.js "two words" 100%%`,
  );
  assert.equal(line(stdout, 'ExecReload'), `${BIN} reload --control=/run/app/control.sock`);
  assert.equal(line(stdout, 'RuntimeDirectory'), 'app');
  assert.equal(line(stdout, 'WorkingDirectory'), ROOT.replace(/\/$/, ''));
  assert.equal(line(stdout, 'TimeoutStopSec'), '30');
  assert.equal(line(stdout, 'TimeoutStartSec'), '150');
  assert.equal(line(stdout, 'KillMode'), 'mixed');
  assert.equal(line(stdout, 'Restart'), 'on-failure');
  assert.equal(
    line(stdout, 'User'),
    undefined,
    '--user stays on ExecStart: tsdaemon binds as root, then drops',
  );
});

test('--type=auto asks systemctl --version: notify-reload from systemd 253 on, notify before', async () => {
  let version;
  try {
    version = Number(
      /^systemd (\d+)/.exec(execFileSync('systemctl', ['--version'], { encoding: 'utf8' }))[1],
    );
  } catch {}
  const { stdout } = await unit(['--listen=:8080', '--pidfile=/run/x.pid', '--', 'node', 'app.js']);
  const expected = version >= 253 ? 'notify-reload' : 'notify';
  assert.equal(line(stdout, 'Type'), expected);
  if (expected === 'notify') {
    assert.match(stdout, new RegExp(`# systemd ${version} has no Type=notify-reload`));
    assert.equal(line(stdout, 'ExecReload'), `${BIN} reload --pidfile=/run/x.pid`);
  } else assert.equal(line(stdout, 'ReloadSignal'), 'SIGHUP');
});

test('--socket: one .socket unit per address, --listen=systemd:NAME, --user becomes User= and Group=', async () => {
  const { code, stdout } = await unit([
    '--socket',
    '--type=notify-reload',
    '--name=web',
    '--listen=:80',
    '--listen=admin=unix:/run/web.sock,mode=0660,group=adm',
    '--user=www-data:www-data',
    '--watchdog=30s',
    '--',
    'node',
    'server.js',
  ]);
  assert.equal(code, 0);
  const [service, tcp, admin] = stdout.split('\n\n# ').map((part, i) => (i === 0 ? part : `# ${part}`));
  assert.equal(
    line(service, 'ExecStart'),
    `${BIN} --listen=systemd:tcp-80 --listen=systemd:admin -- ${NODE} server.js`,
  );
  assert.equal(line(service, 'User'), 'www-data');
  assert.equal(line(service, 'Group'), 'www-data');
  assert.equal(line(service, 'Requires'), 'web-tcp-80.socket web-admin.socket');
  assert.equal(line(service, 'WatchdogSec'), '30');
  assert.match(tcp, /^# web-tcp-80\.socket, made by: tsdaemon unit --socket /);
  assert.deepEqual(
    ['ListenStream', 'FileDescriptorName', 'Service'].map((key) => line(tcp, key)),
    ['80', 'tcp-80', 'web.service'],
  );
  assert.deepEqual(
    ['ListenStream', 'SocketMode', 'SocketGroup', 'FileDescriptorName'].map((key) => line(admin, key)),
    ['/run/web.sock', '0660', 'adm', 'admin'],
  );
});

test('--output-dir writes NAME.service and NAME.socket (mode 0644) and says what to run next', async (t) => {
  const dir = tempDir(t, 'tsdaemon-unit-');
  const { code, stdout } = await unit([
    `--output-dir=${dir}`,
    '--socket',
    '--listen=127.0.0.1:8080',
    '--',
    'node',
    'app.js',
  ]);
  assert.equal(code, 0);
  assert.match(stdout, /next: systemctl daemon-reload && systemctl enable --now app\.service app\.socket/);
  for (const file of ['app.service', 'app.socket'])
    assert.equal(statSync(join(dir, file)).mode & 0o777, 0o644);
  assert.equal(line(readFileSync(join(dir, 'app.socket'), 'utf8'), 'ListenStream'), '127.0.0.1:8080');
});

test('a node outside systemd PATH gets Environment=PATH= with its directory first; TSDAEMON_* variables are left out, with a note', async (t) => {
  const dir = tempDir(t, 'tsdaemon-unit-node-');
  try {
    linkSync(process.execPath, join(dir, 'node'));
  } catch (error) {
    t.skip(`cannot hard-link node into /tmp: ${error.code}`);
    return;
  }
  const { stdout, stderr } = await unit(['--listen=:8080', '--', 'node', 'app.js'], {
    node: join(dir, 'node'),
    env: { TSDAEMON_LAME_DUCK: '40s' },
  });
  assert.equal(
    line(stdout, 'Environment'),
    `PATH=${dir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
  );
  assert.match(stderr, /ignoring TSDAEMON_LAME_DUCK: give them as flags/);
  assert.equal(line(stdout, 'TimeoutStopSec'), '20');
});

test('what cannot be a unit: one line naming the option, exit 64', async () => {
  const cases = [
    [['--daemon', '--listen=:80', '--', 'node', 'a.js'], /--daemon: a unit runs tsdaemon in the foreground/],
    [['--socket', '--', 'node', 'a.js'], /--socket: no --listen address/],
    [
      ['--socket', '--listen=&3', '--', 'node', 'a.js'],
      /--socket: --listen=&3 is not an address systemd can bind/,
    ],
    [['--socket', '--listen=localhost:80', '--', 'node', 'a.js'], /systemd binds addresses, not host names/],
    [['--socket', '--listen=127.0.0.1:0', '--', 'node', 'a.js'], /no fixed port/],
    [['--type=forking', '--', 'node', 'a.js'], /--type: 'forking' is not a type/],
    [['--name=a b', '--', 'node', 'a.js'], /--name: 'a b' is not a unit name/],
    [['--watchdog=soon', '--', 'node', 'a.js'], /--watchdog: 'soon' is not a duration/],
    [['--listen=:80', 'node', 'a.js'], /no command: put it after --/],
    [['--lame-duck=long', '--', 'node', 'a.js'], /--lame-duck: 'long' is not a duration/],
    [['--', 'no-such-command-here'], /command not found: no-such-command-here/],
  ];
  const results = await Promise.all(cases.map(([args]) => unit(args)));
  for (const [i, [args, message]] of cases.entries()) {
    const { code, stderr } = results[i];
    assert.equal(code, 64, `${args.join(' ')}: ${stderr}`);
    assert.match(stderr, message);
  }
  const help = await unit(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^tsdaemon unit \[unit options\] \[tsdaemon options\] -- <command>/);
});
