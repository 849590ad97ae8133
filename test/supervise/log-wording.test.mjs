// What the log says about restarts and crashes: the crash count next to --max-restarts, the reason of a
// restart that was asked for during the first start, the state each line is printed with, and what -v
// adds for an operator debugging a restart (what a child is handed, what makes it ready, the signals).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixture, startDaemon } from '../helpers/tsdaemon.mjs';

test('a crash restart is counted the way --max-restarts is written (restart 1 of the 5 of 5/30s)', async (t) => {
  const daemon = startDaemon(t, ['--ready=timer:50ms', '--', 'sh', '-c', 'sleep 0.3; exit 3']);
  await daemon.waitFor(
    /running -> backoff \(restart in 100 ms; crash restart 1 of the 5 that --max-restarts=5\/30s allows\)/,
  );
  assert.doesNotMatch(daemon.output, /of 6 allowed/);
  daemon.signal('SIGTERM');
  await daemon.exited;
});

test('a SIGHUP during the first start says so when its restart runs', async (t) => {
  const script = `[ "$TSDAEMON_GENERATION" = 1 ] && sleep 1; exec node ${fixture('env-server.js')}`;
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'sh', '-c', script]);
  await daemon.waitFor(/starting \(start\)/);
  daemon.signal('SIGHUP');
  await daemon.waitFor(/SIGHUP during the start: one more restart follows once it is ready/);
  await daemon.waitFor(/running -> restarting \(SIGHUP during the start\) generation=2/, 15_000);
  assert.doesNotMatch(daemon.output, /during the restart/);
  await daemon.waitFor(/generation 2 ready/, 15_000);
});

test('each line shows the state it is true in: its event’s, or for a transition the one it leads to', async (t) => {
  const daemon = startDaemon(t, [
    '--restart=never',
    '--ready=timer:50ms',
    '--',
    'sh',
    '-c',
    'sleep 0.3; exit 7',
  ]);
  assert.equal((await daemon.exited).code, 7);
  assert.match(daemon.output, /error +\[\d+ running\] generation 1 exited \(code 7\)/);
  assert.match(
    daemon.output,
    /error +\[\d+ draining\] running -> draining \(not restarted: --restart=never\)/,
  );
  assert.match(daemon.output, /info +\[\d+ stopped\] draining -> stopped exitCode=7/);
});

test('-v shows what a child is handed, what makes it ready and the signals; the default does not', async (t) => {
  const daemon = startDaemon(t, ['-v', '--listen=web=127.0.0.1:0', '--', 'node', fixture('env-server.js')]);
  await daemon.waitFor(/generation 1 ready/);
  daemon.signal('SIGWINCH');
  await daemon.waitFor(/SIGWINCH to generation 1/);
  daemon.signal('SIGHUP');
  await daemon.waitFor(/generation 2 ready/, 15_000);
  await daemon.waitFor(/generation 1 exited/, 15_000);
  const verbose = (re) => new RegExp(`verbose +\\[\\d+ \\w+\\] ${re.source}`);
  assert.match(
    daemon.output,
    verbose(
      /generation 2 gets fd 3 = web \(tcp 127\.0\.0\.1:\d+\), fd 4 = the ready pipe \(\$TSDAEMON_READY_FD\)/,
    ),
  );
  assert.match(
    daemon.output,
    verbose(
      /generation 2 waits to be ready: READY=1 on fd 4, process\.send\('ready'\) or accepting on fd 3 \(looked for every 20 ms\), then its start-up settled, whichever comes first/,
    ),
  );
  assert.match(daemon.output, verbose(/received SIGWINCH/));
  assert.match(daemon.output, verbose(/received SIGHUP/));
  assert.match(
    daemon.output,
    verbose(/SIGTERM to generation 1 generation=1 pid=\d+/),
    'the old one is told to stop',
  );
  assert.doesNotMatch(daemon.output, / debug +\[/, '-v is not -vv');
  daemon.signal('SIGTERM');
  assert.equal((await daemon.exited).code, 0);

  const plain = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'node', fixture('env-server.js')]);
  await plain.waitFor(/generation 1 ready/);
  plain.signal('SIGTERM');
  await plain.exited;
  assert.doesNotMatch(plain.output, /verbose|gets fd 3|received SIGTERM/);
});
