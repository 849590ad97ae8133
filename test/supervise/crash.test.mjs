// Crash restarts: a serving child that exits on its own is started again with backoff, connections wait
// in the backlog meanwhile, and a crash loop ends tsdaemon with the child's status.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixture, getJson, startDaemon } from '../helpers/tsdaemon.mjs';

test('a crash loop gives up with the child status, within a bounded time', async (t) => {
  const started = Date.now();
  const daemon = startDaemon(t, [
    '--ready=timer:50ms',
    '--max-restarts=3/30s',
    '--',
    'sh',
    '-c',
    'sleep 0.2; exit 3',
  ]);
  const { code } = await daemon.exited;
  assert.equal(code, 3);
  assert.ok(Date.now() - started < 8000, `gave up after ${Date.now() - started} ms`);
  assert.match(daemon.output, /restart in 100 ms/);
  assert.match(daemon.output, /restart in 200 ms/);
  assert.match(daemon.output, /restart in 400 ms/);
  assert.match(daemon.output, /crash loop: 4 crashes within 30000 ms; giving up/);
  assert.equal(
    (daemon.output.match(/(starting|recovering) \((start|restart after a crash)\)/g) ?? []).length,
    4,
  );
});

test('a crash while clients connect loses none of the queued connections', async (t) => {
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', fixture('py-server.py')], {
    env: { CRASH_AFTER: '5' },
  });
  const port = await daemon.port();
  await daemon.waitFor(/generation 1 ready/);
  const answers = await Promise.all(
    Array.from({ length: 40 }, () => getJson(port, '/', { timeoutMs: 15_000 })),
  );
  assert.equal(answers.length, 40);
  assert.ok(new Set(answers.map((a) => a.pid)).size >= 2, 'served by the crashed child and its successors');
  assert.match(daemon.output, /py-server: crashing after 5 requests/);
  await daemon.waitFor(/generation 2 ready/);
});

test('--restart=never ends tsdaemon with the status; a clean exit 0 is not restarted by default', async (t) => {
  const never = startDaemon(t, [
    '--restart=never',
    '--ready=timer:50ms',
    '--',
    'sh',
    '-c',
    'sleep 0.2; exit 7',
  ]);
  assert.equal((await never.exited).code, 7);
  assert.doesNotMatch(never.output, /restart in/);
  const clean = startDaemon(t, ['--ready=timer:50ms', '--', 'sh', '-c', 'sleep 0.2; exit 0']);
  assert.equal((await clean.exited).code, 0);
  assert.doesNotMatch(clean.output, /restart in/);
});

test('--restart=always restarts after exit 0 too; SIGTERM during the backoff exits 0', async (t) => {
  const daemon = startDaemon(t, [
    '--restart=always',
    '--ready=timer:50ms',
    '--',
    'sh',
    '-c',
    'sleep 0.2; exit 0',
  ]);
  await daemon.waitFor(/restart in 100 ms/);
  await daemon.waitFor(/generation 2 ready/);
  await daemon.waitFor(/restart in 200 ms/);
  daemon.signal('SIGTERM');
  assert.equal((await daemon.exited).code, 0);
});

test('a child that crashes before it was ever ready is retried with the backoff, counted against --max-restarts', async (t) => {
  const daemon = startDaemon(t, ['--max-restarts=2/30s', '--', 'sh', '-c', 'exit 3']);
  assert.equal((await daemon.exited).code, 3);
  assert.match(daemon.output, /generation 1 exited before it was ready \(code 3\)/);
  assert.match(
    daemon.output,
    /starting -> backoff \(restart in 100 ms; crash restart 1 of the 2 that --max-restarts=2\/30s allows\)/,
  );
  assert.match(daemon.output, /backoff -> recovering \(restart after a crash\) generation=3/);
  assert.match(daemon.output, /crash loop: 3 crashes within 30000 ms; giving up/);
});

test('not retried (--restart=never, or exit 0 under on-failure): the log says why', async (t) => {
  const never = startDaemon(t, ['--restart=never', '--', 'sh', '-c', 'exit 3']);
  assert.equal((await never.exited).code, 3);
  assert.match(never.output, /starting -> draining \(not restarted: --restart=never\)/);
  const clean = startDaemon(t, ['--', 'sh', '-c', 'exit 0']);
  assert.equal((await clean.exited).code, 0);
  assert.match(clean.output, /not restarted: --restart=on-failure restarts only after a failure/);
});

test('a crash restart that is never ready in time counts as a crash (not a failed start)', async (t) => {
  // Generation 1 is ready and crashes; its successors never say READY=1.
  const script =
    '[ "$TSDAEMON_GENERATION" = 1 ] && { echo READY=1 >&"$TSDAEMON_READY_FD"; sleep 0.3; exit 7; }; exec sleep 30';
  const daemon = startDaemon(t, [
    '--ready=fd',
    '--ready-timeout=700ms',
    '--max-restarts=2/30s',
    '--',
    'sh',
    '-c',
    script,
  ]);
  assert.equal((await daemon.exited).code, 68);
  assert.match(daemon.output, /generation 2 was not ready within 700 ms/);
  assert.match(daemon.output, /recovering -> backoff \(restart in 200 ms/);
  assert.match(daemon.output, /backoff -> recovering \(restart after a crash\) generation=3/);
  assert.match(daemon.output, /crash loop: 3 crashes/);
});

test('a bad --max-restarts is a usage error', async (t) => {
  const daemon = startDaemon(t, ['--max-restarts=lots', '--', 'true']);
  assert.equal((await daemon.exited).code, 64);
  assert.match(daemon.stderr, /--max-restarts: 'lots' is not N\/WINDOW/);
});

test('--max-memory: a child that grows past the limit is replaced by a hot restart, and serving goes on', async (t) => {
  // Generation 1 allocates (and touches) 120 MiB; its successor stays small.
  const app = `import http from 'node:http';
const hog = process.env.TSDAEMON_GENERATION === '1' ? Buffer.alloc(120 * 1048576, 1) : null;
http.createServer((_q, r) => r.end(JSON.stringify({ pid: process.pid, hog: hog?.length ?? 0 }))).listen(Number(process.env.PORT));
process.on('SIGTERM', () => process.exit(0));`;
  const daemon = startDaemon(t, [
    '--max-memory=100M',
    '--listen=127.0.0.1:0',
    '--',
    'node',
    '--input-type=module',
    '-e',
    app,
  ]);
  const port = await daemon.port();
  await daemon.waitFor(/generation 1 is over the memory limit/, 15_000);
  await daemon.waitFor(/running -> restarting \(memory: generation 1 uses \d+ MiB, over 100 MiB\)/);
  await daemon.waitFor(/generation 1 exited \(code 0\)/);
  const answer = await getJson(port, '/');
  assert.equal(answer.hog, 0, 'the new generation serves');
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.doesNotMatch(daemon.output, /generation 2 is over the memory limit/);
});

test('a bad --max-memory is a usage error', async (t) => {
  const daemon = startDaemon(t, ['--max-memory=huge', '--', 'true']);
  assert.equal((await daemon.exited).code, 64);
  assert.match(daemon.stderr, /--max-memory: 'huge' is not a size/);
});
