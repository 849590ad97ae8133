// The readiness modes one by one, SIGQUIT, and the log file reopened on SIGHUP.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { test } from 'node:test';
import { fixture, getJson, isAlive, sleep, startDaemon, tempDir } from '../helpers/tsdaemon.mjs';

const pm2StyleApp = `import http from 'node:http';
http.createServer((_q, r) => r.end(JSON.stringify({ pid: process.pid }))).listen({ fd: 3 }, () => {
  setTimeout(() => process.send('ready'), 300);
});
process.on('SIGTERM', () => process.exit(0));`;

test("--ready=ipc: a Node child's process.send('ready') (PM2 style) makes it ready", async (t) => {
  const daemon = startDaemon(t, [
    '--ready=ipc',
    '--no-preload',
    '--listen=127.0.0.1:0',
    '--',
    'node',
    '--input-type=module',
    '-e',
    pm2StyleApp,
  ]);
  const port = await daemon.port();
  await daemon.waitFor(/generation 1 ready: process\.send\('ready'\)/);
  assert.ok((await getJson(port, '/')).pid > 0);
});

test('--ready=ipc and fd with the preload on: the app decides when it is ready, not its listen()', async (t) => {
  // listen(PORT) goes through the preload; the app then warms up for 600 ms before it says ready.
  const warmingApp = (say) => `import http from 'node:http';
import { ready } from 'tsdaemon/app';
http.createServer((_q, r) => r.end('{}')).listen(process.env.PORT, () => {
  console.log('listening at', Date.now());
  setTimeout(() => ${say}, 600);
});`;
  for (const [mode, say] of [
    ['ipc', "process.send('ready')"],
    ['fd', 'ready()'],
  ]) {
    const daemon = startDaemon(
      t,
      [`--ready=${mode}`, '--listen=127.0.0.1:0', '--', 'node', '--input-type=module', '-e', warmingApp(say)],
      { cwd: fixture('') },
    );
    const listening = Number((await daemon.waitFor(/listening at (\d+)/))[1]);
    await daemon.waitFor(/generation 1 ready/);
    assert.ok(
      Date.now() - listening >= 550,
      `--ready=${mode}: ready ${Date.now() - listening} ms after listen`,
    );
  }
});

test('--ready=timer:700ms: alive that long is ready; --ready=accept: accepting on a socket is ready', async (t) => {
  const timer = startDaemon(t, ['--ready=timer:700ms', '--', 'sleep', '30']);
  await timer.waitFor(/starting \(start\)/);
  const started = Date.now();
  await timer.waitFor(/generation 1 ready: alive for 700 ms/);
  assert.ok(Date.now() - started >= 600);

  const accept = startDaemon(t, [
    '--ready=accept',
    '--listen=127.0.0.1:0',
    '--',
    fixture('py-server.py'),
    '0.5',
  ]);
  await accept.waitFor(/generation 1 ready: accepting on an inherited socket/);
});

test('--ready=fd with a child that never writes READY=1: the first generation fails to start, exit 68', async (t) => {
  const daemon = startDaemon(t, [
    '--ready=fd',
    '--ready-timeout=500ms',
    '--listen=127.0.0.1:0',
    '--',
    'sleep',
    '30',
  ]);
  const { code } = await daemon.exited;
  assert.equal(code, 68);
  assert.match(daemon.output, /starting -> draining \(generation 1 was not ready within 500 ms\)/);
});

test('an invalid --ready is a usage error', async (t) => {
  const daemon = startDaemon(t, ['--ready=soon', '--', 'true']);
  assert.equal((await daemon.exited).code, 64);
  assert.match(daemon.stderr, /--ready: 'soon' is not a readiness mode/);
});

test('SIGQUIT kills the children at once and exits 131', async (t) => {
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'node', fixture('ignore-term.js')]);
  await daemon.port();
  const pid = await daemon.childPid();
  daemon.signal('SIGQUIT');
  assert.equal((await daemon.exited).code, 131);
  assert.equal(isAlive(pid), false);
});

test('SIGHUP reopens --log-file, so a rotated file is not written to any more', async (t) => {
  const dir = tempDir(t);
  const daemon = startDaemon(t, [
    `--log-file=${dir}/app.log`,
    '--listen=127.0.0.1:0',
    '--',
    'node',
    fixture('env-server.js'),
  ]);
  await daemon.port();
  await daemon.childPid();
  renameSync(`${dir}/app.log`, `${dir}/app.log.1`);
  daemon.signal('SIGHUP');
  await daemon.waitFor(/generation 1 exited/);
  await sleep(200);
  assert.ok(existsSync(`${dir}/app.log`), 'a new file was opened');
  assert.match(readFileSync(`${dir}/app.log`, 'utf8'), /generation 2 ready/);
  // The captured output of the new generation goes to the new file too.
  assert.match(
    readFileSync(`${dir}/app.log`, 'utf8'),
    /env-server listening .* child=stdout generation=2 pid=\d+/,
  );
  assert.doesNotMatch(readFileSync(`${dir}/app.log.1`, 'utf8'), /generation 2 ready/);
});
