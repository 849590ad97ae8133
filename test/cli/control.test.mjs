// tsdaemon status|reload|stop against a running supervisor, through the control socket.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, lstatSync } from 'node:fs';
import { test } from 'node:test';
import {
  BIN,
  fixture,
  getJson,
  isAlive,
  runCli,
  startDaemon,
  tempDir,
  worldReadableBin,
} from '../helpers/tsdaemon.mjs';

const run = runCli;

/** A directory every user can search (the control socket's users may be others than root). */
const publicDir = (t) => {
  const dir = tempDir(t, 'tsdaemon-ctl-');
  chmodSync(dir, 0o755);
  return dir;
};

test('status (table and --json), reload that waits for the new generation, stop that waits for the exit', async (t) => {
  const dir = publicDir(t);
  const daemon = startDaemon(t, [
    `--pidfile=${dir}/app.pid`,
    '--listen=web=127.0.0.1:0',
    '--',
    'node',
    fixture('env-server.js'),
  ]);
  const port = await daemon.port('web');
  const first = await daemon.childPid();
  assert.equal(lstatSync(`${dir}/app.pid.sock`).mode & 0o777, 0o600, 'the control socket is 0600');

  const table = await run('status', `--pidfile=${dir}/app.pid`);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, new RegExp(`tsdaemon pid ${daemon.pid}: running`));
  assert.match(table.stdout, new RegExp(`^0 +1 +${first} +serving `, 'm'));
  assert.match(table.stdout, /^web +3 +tcp 127\.0\.0\.1:\d+$/m);

  const reload = await run('reload', `--pidfile=${dir}/app.pid`);
  assert.equal(reload.code, 0, reload.stderr);
  assert.match(reload.stdout, /reloaded: generation 2 \(pid \d+\) is serving/);
  assert.equal(
    (await getJson(port, '/')).env.TSDAEMON_GENERATION,
    '2',
    'already serving when reload returns',
  );

  const json = JSON.parse((await run('status', `--control=${dir}/app.pid.sock`, '--json')).stdout);
  assert.equal(json.restarts, 1);
  assert.equal(json.generations.find((g) => g.status === 'serving').generation, 2);
  assert.ok(json.generations[0].rssBytes > 0, 'rss per child');
  assert.equal(typeof json.generations[0].cpuPercent, 'number');

  const stop = await run('stop', `--pidfile=${dir}/app.pid`);
  assert.equal(stop.code, 0, stop.stderr);
  assert.equal(isAlive(daemon.pid), false, 'gone when stop returns');
  assert.equal((await daemon.exited).code, 0);
});

test('reload exits 1 with the reason when the new generation fails; the old one keeps serving', async (t) => {
  const dir = publicDir(t);
  const script = `[ "$TSDAEMON_GENERATION" -gt 1 ] && exit 3; exec node ${fixture('env-server.js')}`;
  const daemon = startDaemon(t, [
    `--control=${dir}/ctl.sock`,
    '--listen=127.0.0.1:0',
    '--',
    'sh',
    '-c',
    script,
  ]);
  const port = await daemon.port();
  const first = await daemon.childPid();
  const reload = await run('reload', `--control=${dir}/ctl.sock`);
  assert.equal(reload.code, 1);
  assert.match(reload.stderr, /tsdaemon reload: generation 2 exited before it was ready \(code 3\)/);
  assert.equal((await getJson(port, '/')).pid, first);
  const status = await run('status', `--control=${dir}/ctl.sock`);
  assert.match(status.stdout, /0 restarts \(1 failed\)/);
  assert.match(status.stdout, /last failure: generation 2 exited before it was ready/);
});

test('no supervisor: exit 1 and a clear line; no target at all: usage error', async (t) => {
  const dir = publicDir(t);
  const missing = await run('status', `--pidfile=${dir}/none.pid`);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no tsdaemon answers on .*none\.pid\.sock \(ENOENT\); is tsdaemon running\?/);
  const usage = await run('reload');
  assert.equal(usage.code, 64);
  assert.match(usage.stderr, /say which tsdaemon: --pidfile=PATH or --control=PATH/);
});

test('with --user the control socket is made before the drop: owned by root, and still answers', {
  skip: process.getuid() !== 0 && 'needs root',
}, async (t) => {
  const dir = publicDir(t);
  const daemon = startDaemon(
    t,
    [`--pidfile=${dir}/app.pid`, '--user=nobody', '--listen=127.0.0.1:0', '--', 'sleep', '30'],
    {
      bin: worldReadableBin(t),
      cwd: '/tmp',
    },
  );
  await daemon.waitFor(/running as nobody/);
  const stat = lstatSync(`${dir}/app.pid.sock`);
  assert.equal(stat.uid, 0);
  assert.equal(stat.mode & 0o777, 0o600);
  const status = await run('status', `--pidfile=${dir}/app.pid`);
  assert.equal(status.code, 0, status.stderr);
  const stop = await run('stop', `--pidfile=${dir}/app.pid`);
  assert.equal(stop.code, 0, stop.stderr);
});

test("the supervisor's TSDAEMON_ options in the environment do not confuse the control commands", async (t) => {
  const dir = publicDir(t);
  const { code, stderr } = await new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'status', `--pidfile=${dir}/none.pid`],
      { env: { ...process.env, TSDAEMON_LISTEN: ':8080', TSDAEMON_LAME_DUCK: '30s' } },
      (error, _stdout, err) => resolve({ code: error?.code ?? 0, stderr: err }),
    );
  });
  assert.equal(code, 1, stderr);
  assert.match(stderr, /no tsdaemon answers/);
});

test('a control socket path that cannot work is refused before anything is made', async (t) => {
  const dir = publicDir(t);
  const long = `${dir}/${'x'.repeat(120)}.sock`;
  const daemon = startDaemon(t, [`--control=${long}`, '--listen=127.0.0.1:0', '--', 'true']);
  assert.equal((await daemon.exited).code, 65);
  assert.match(daemon.stderr, /longer than the 107 bytes a unix socket allows/);
  const { readdirSync } = await import('node:fs');
  assert.deepEqual(readdirSync(dir), [], 'nothing left behind');
});
