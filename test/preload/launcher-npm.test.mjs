// `tsdaemon -- npm start`: npm's own Node process (whose start-up marks fd 3 close-on-exec) passes the
// socket on to the app it starts through `sh -c`, hot restarts lose nothing, and SIGTERM drains the app
// through npm and the shell.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appDir, installWithout, PLAIN_SERVER, restartUnderLoad, slowRequest } from '../helpers/launch.mjs';
import { getJson, sleep, startDaemon } from '../helpers/tsdaemon.mjs';

const PACKAGE = JSON.stringify({ name: 'app', private: true, scripts: { start: 'node server.js' } });

test('npm start: 3 hot restarts under load, 0 failed requests; SIGTERM lets a slow request finish', async (t) => {
  const dir = appDir(t, { 'package.json': PACKAGE, 'server.js': PLAIN_SERVER });
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'npm', 'start'], { cwd: dir });
  const port = await daemon.port();
  await daemon.waitFor(/generation 1 ready: READY=1 on the ready fd/, 30_000);
  const npm = await daemon.childPid();
  const first = await getJson(port, '/');
  assert.notEqual(first.pid, npm, 'the app, not npm, answers');
  const stats = await restartUnderLoad(daemon, port);
  assert.ok(stats.pids.size >= 3, `served by ${stats.pids.size} generations`);

  const slow = slowRequest(port, 1500);
  await sleep(400);
  daemon.signal('SIGTERM');
  assert.deepEqual((await slow).status, 200, 'the request in flight at SIGTERM was answered');
  const { code } = await daemon.exited;
  assert.equal(code, 0, 'a clean drain through npm exits 0');
  assert.doesNotMatch(daemon.output, /EADDRINUSE|SIGKILL/);
});

test('npm start without the native addon: the app fails with one line that names the cause and the fix', async (t) => {
  const bin = installWithout(t, ['tsdaemon_native.node']);
  const dir = appDir(t, { 'package.json': PACKAGE, 'server.js': PLAIN_SERVER });
  const daemon = startDaemon(t, ['--restart=never', '--listen=127.0.0.1:0', '--', 'npm', 'start'], {
    cwd: dir,
    bin,
  });
  const { code } = await daemon.exited;
  assert.notEqual(code, 0);
  const lines = daemon.output.split('\n').filter((line) => line.startsWith('tsdaemon: listen on port'));
  assert.equal(lines.length, 1, daemon.output);
  assert.match(
    lines[0],
    /^tsdaemon: listen on port \d+ failed with EADDRINUSE: tsdaemon holds it \(--listen tcp-127\.0\.0\.1-0, fd 3\) but this process \(pid \d+\) did not inherit the socket: the Node launcher between tsdaemon and this program \(npm, yarn, npx, tsx …\) could not pass it on: the native addon was not built .*npm rebuild tsdaemon.*start the server directly/,
  );
});
