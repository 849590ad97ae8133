// Never a silent minute: a generation that is not seen ready gets a warning after 5 s and every 10 s after
// that, naming what its threads wait in and the --ready modes that need no probe; `status` shows the same;
// `reload` during the start answers at once that the reload is queued (exit 75).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli, startDaemon, tempDir } from '../helpers/tsdaemon.mjs';

const run = runCli;

test('a child never seen ready: a warning at 5 s naming its wait, status says so, reload answers at once', async (t) => {
  const dir = tempDir(t, 'tsdaemon-notready-');
  // sleep holds the listening socket but never accepts: it waits in (clock_)nanosleep.
  const daemon = startDaemon(t, [
    `--pidfile=${dir}/app.pid`,
    '--listen=127.0.0.1:0',
    '--ready-timeout=30s',
    '--',
    'sleep',
    '60',
  ]);
  await daemon.port();
  const [line] = await daemon.waitFor(/warn .*generation 1 not ready after 5 s: [^\n]*/, 8000);
  assert.match(line, /nanosleep/);
  assert.match(line, /--ready=fd/);
  assert.match(line, /--ready=timer:DURATION/);

  const started = Date.now();
  const reload = await run('reload', `--pidfile=${dir}/app.pid`);
  assert.ok(Date.now() - started < 3000, 'answered at once, not after the start');
  assert.equal(reload.code, 75, reload.stderr);
  assert.match(reload.stderr, /generation 1 is still starting \(\d+ s so far\); the reload is queued/);

  const status = await run('status', `--pidfile=${dir}/app.pid`);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /generation 1 not ready yet: .*nanosleep/);
  const json = JSON.parse((await run('status', `--pidfile=${dir}/app.pid`, '--json')).stdout);
  assert.match(json.generations[0].waiting, /nanosleep/);
});
