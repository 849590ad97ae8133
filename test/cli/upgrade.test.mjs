// SIGUSR2: a new tsdaemon takes over the listening sockets without a refused or failed request; the old
// one drains and exits; a successor that fails leaves the old one serving.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { startLoad } from '../helpers/load.mjs';
import {
  descendants,
  fixture,
  getJson,
  gone,
  isAlive,
  killTreeAfter,
  sleep,
  startDaemon,
  tempDir,
} from '../helpers/tsdaemon.mjs';

test('SIGUSR2 under load: a new supervisor takes over with 0 failed requests and owns the pidfile', async (t) => {
  const dir = tempDir(t, 'tsdaemon-upgrade-');
  const pidfile = `${dir}/app.pid`;
  const daemon = startDaemon(t, [
    `--pidfile=${pidfile}`,
    '--listen=web=127.0.0.1:0',
    '--',
    'node',
    fixture('env-server.js'),
  ]);
  let successor = 0;
  killTreeAfter(t, () => successor);
  const port = await daemon.port('web');
  await daemon.waitFor(/generation 1 ready/);
  const load = startLoad({ port, connections: 8 });
  t.after(() => load.stop());
  await sleep(300);
  daemon.signal('SIGUSR2');
  successor = Number((await daemon.waitFor(/upgrade: tsdaemon pid (\d+) serves now/, 15_000))[1]);
  const { code } = await daemon.exited;
  assert.equal(code, 0, 'the old supervisor drained and exited cleanly');
  await sleep(300);
  const stats = await load.stop();
  assert.equal(stats.failed, 0, `failed: ${JSON.stringify([...stats.errors])} (ok ${stats.ok})`);
  assert.equal(readFileSync(pidfile, 'utf8'), `${successor}\n`, 'the pidfile names the new supervisor');
  assert.ok(isAlive(successor));
  const answer = await getJson(port, '/');
  assert.ok(descendants(successor).includes(answer.pid), 'the new supervisor’s child serves');
  assert.equal(answer.env.LISTEN_FDNAMES, 'web', 'names survive the hand-over');
  assert.ok(existsSync(`${pidfile}.sock`), 'the control socket was taken over');
  // The successor must not have turned the shared socket blocking under the running Node children.
  const flags = Number.parseInt(
    /flags:\s+(\d+)/.exec(readFileSync(`/proc/${answer.pid}/fdinfo/3`, 'utf8'))[1],
    8,
  );
  assert.ok(flags & 0o4000, 'fd 3 is still O_NONBLOCK');
  process.kill(successor, 'SIGTERM');
  await gone([successor], 5000);
  assert.equal(isAlive(successor), false);
  assert.equal(existsSync(pidfile), false, 'the successor removes the pidfile on exit');
});

test('a successor that fails to start leaves the old supervisor serving', async (t) => {
  const dir = tempDir(t, 'tsdaemon-upgrade-');
  const flag = `${dir}/broken`;
  const script = `[ -e ${flag} ] && exit 3; exec node ${fixture('env-server.js')}`;
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'sh', '-c', script]);
  const port = await daemon.port();
  const child = await daemon.childPid();
  writeFileSync(flag, '');
  daemon.signal('SIGUSR2');
  await daemon.waitFor(/upgrade failed: .*; this tsdaemon goes on serving/, 15_000);
  assert.equal((await getJson(port, '/')).pid, child);
  assert.ok(isAlive(daemon.pid));
  // The failed successor must not have left the shared socket blocking: the child's event loop would hang
  // in accept() and never see its SIGTERM.
  const flags = Number.parseInt(/flags:\s+(\d+)/.exec(readFileSync(`/proc/${child}/fdinfo/3`, 'utf8'))[1], 8);
  assert.ok(flags & 0o4000, 'fd 3 is still O_NONBLOCK');
  const started = Date.now();
  daemon.signal('SIGTERM');
  assert.equal((await daemon.exited).code, 0);
  assert.ok(Date.now() - started < 5000, 'drained promptly');
});
