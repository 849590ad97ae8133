// --workers N: N children on the same sockets, a rolling SIGHUP under load, SIGTTIN/SIGTTOU.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startLoad } from '../helpers/load.mjs';
import { fixture, getJson, runCli, sleep, startDaemon, tempDir } from '../helpers/tsdaemon.mjs';

const count = (text, re) => (text.match(re) ?? []).length;

/** tsdaemon with 3 workers of env-server.js, once all three are ready. */
async function threeWorkers(t) {
  const daemon = startDaemon(t, [
    '--workers=3',
    '--listen=127.0.0.1:0',
    '--',
    'node',
    fixture('env-server.js'),
  ]);
  const port = await daemon.port();
  for (let i = 0; i < 100 && count(daemon.output, /generation 1 ready/g) < 3; i++) await sleep(50);
  return { daemon, port };
}

test('3 workers serve concurrently on one socket, each with its TSDAEMON_WORKER', async (t) => {
  const { port } = await threeWorkers(t);
  const workers = new Map();
  for (let i = 0; i < 60 && workers.size < 3; i++) {
    const answers = await Promise.all(Array.from({ length: 10 }, () => getJson(port, '/')));
    for (const a of answers) workers.set(a.env.TSDAEMON_WORKER, a.pid);
  }
  assert.deepEqual([...workers.keys()].sort(), ['0', '1', '2']);
  assert.equal(new Set(workers.values()).size, 3, 'three distinct pids');
});

test('a rolling restart of 3 workers under load: 0 failed requests, every worker replaced', async (t) => {
  const { daemon, port } = await threeWorkers(t);
  const load = startLoad({ port, connections: 8 });
  t.after(() => load.stop());
  await sleep(300);
  daemon.signal('SIGHUP');
  for (let i = 0; i < 300 && count(daemon.output, /generation 1 exited/g) < 3; i++) await sleep(50);
  await sleep(200);
  const stats = await load.stop();
  assert.equal(stats.failed, 0, `failed: ${JSON.stringify([...stats.errors])} (ok ${stats.ok})`);
  assert.equal(count(daemon.output, /generation 2 ready/g), 3);
  // Rolling: worker 1 starts only after worker 0's successor is ready.
  const order = [
    ...daemon.output.matchAll(/(running -> restarting|restarting -> running).* worker=(\d)/g),
  ].map((m) => `${m[1]}:${m[2]}`);
  assert.deepEqual(order.slice(0, 6), [
    'running -> restarting:0',
    'restarting -> running:0',
    'running -> restarting:1',
    'restarting -> running:1',
    'running -> restarting:2',
    'restarting -> running:2',
  ]);
});

test('SIGTTIN adds a worker, SIGTTOU drains the last one; status lists each', async (t) => {
  const daemon = startDaemon(t, [
    '--workers=2',
    '--listen=127.0.0.1:0',
    '--',
    'node',
    fixture('env-server.js'),
  ]);
  await daemon.port();
  for (let i = 0; i < 100 && count(daemon.output, /generation 1 ready/g) < 2; i++) await sleep(50);
  daemon.signal('SIGTTIN');
  await daemon.waitFor(/generation 1 ready.* worker=2/);
  daemon.signal('SIGUSR1');
  await daemon.waitFor(/status state=running workers=3 .*w0:1:serving.*w1:1:serving.*w2:1:serving/);
  daemon.signal('SIGTTOU');
  await daemon.waitFor(/SIGTTOU: one worker fewer \(2\), draining worker 2/);
  await daemon.waitFor(/generation 1 exited .*worker=2/);
  daemon.signal('SIGTERM');
  assert.equal((await daemon.exited).code, 0);
});

test('a bad --workers is a usage error', async (t) => {
  const daemon = startDaemon(t, ['--workers=0', '--', 'true']);
  assert.equal((await daemon.exited).code, 64);
  assert.match(daemon.stderr, /--workers: '0' is not a number of workers/);
});

test('a second SIGTTOU drains the next worker, not the one already draining', async (t) => {
  const { daemon } = await threeWorkers(t);
  daemon.signal('SIGTTOU');
  await daemon.waitFor(/SIGTTOU: one worker fewer \(2\), draining worker 2/);
  daemon.signal('SIGTTOU');
  await daemon.waitFor(/SIGTTOU: one worker fewer \(1\), draining worker 1/);
  await daemon.waitFor(/generation 1 exited .*worker=1/, 15_000);
  await daemon.waitFor(/generation 1 exited .*worker=2/, 15_000);
  assert.doesNotMatch(daemon.output, /SIGKILL|killing every child/, 'no worker was killed mid-drain');
  daemon.signal('SIGUSR1');
  await daemon.waitFor(/status state=running workers=1 /);
  daemon.signal('SIGTERM');
  assert.equal((await daemon.exited).code, 0);
});

test('a reload while a worker retires (SIGTTOU) replaces the others and succeeds', async (t) => {
  const dir = tempDir(t, 'tsdaemon-workers-');
  // ignore-term.js keeps running after SIGTERM: the retiring worker drains for the whole --lame-duck.
  const daemon = startDaemon(t, [
    '--workers=3',
    '--lame-duck=5s',
    `--control=${dir}/ctl.sock`,
    '--listen=127.0.0.1:0',
    '--',
    'node',
    fixture('ignore-term.js'),
  ]);
  await daemon.port();
  for (let i = 0; i < 200 && count(daemon.output, /generation 1 ready/g) < 3; i++) await sleep(50);
  daemon.signal('SIGTTOU');
  await daemon.waitFor(/draining worker 2/);
  const reload = await runCli('reload', `--control=${dir}/ctl.sock`);
  assert.equal(reload.code, 0, `${reload.stdout}${reload.stderr}`);
  assert.match(reload.stdout, /reloaded: generation 2 \(pid \d+\) is serving/);
  assert.match(daemon.output, /generation 2 ready.* worker=0/);
  assert.match(daemon.output, /generation 2 ready.* worker=1/);
});
