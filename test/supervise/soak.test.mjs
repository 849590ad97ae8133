// 50 hot restarts in a row under light load (bench/soak.mjs does 1,000): no failed request, the
// supervisor's fd count the same at the end as at the start, and nothing left below it but the serving
// child and the death watcher.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { soak } from '../helpers/soak.mjs';
import { fixture, startDaemon } from '../helpers/tsdaemon.mjs';

test('50 hot restarts under load: 0 failed requests, no fd leak, no orphan or zombie', async (t) => {
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'node', fixture('env-server.js')]);
  const port = await daemon.port();
  await daemon.waitFor(/generation 1 ready/);
  const result = await soak(daemon, port, { restarts: 50 });
  assert.equal(result.load.failed, 0, JSON.stringify([...result.load.errors]));
  assert.ok(result.load.ok > 100, `${result.load.ok} requests answered`);
  const [first, last] = [result.samples[1], result.samples.at(-1)];
  assert.equal(last.fds, first.fds, `fds after restart 1: ${first.fds}, after 50: ${last.fds}`);
  assert.deepEqual(result.zombies, []);
  const commands = result.processes.map((pid) =>
    readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' '),
  );
  assert.equal(result.processes.length, 2, commands.join('\n'));
  assert.ok(commands.some((command) => command.includes('env-server.js')));
  assert.ok(commands.some((command) => command.includes('tsdaemon-watch')));
  daemon.signal('SIGTERM');
  assert.equal((await daemon.exited).code, 0);
});
