// Every example in examples/ runs as the README says and answers.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { get, startDaemon } from '../helpers/tsdaemon.mjs';

const example = (name) => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));

const cases = [
  [
    'hello.js (plain http)',
    ['--listen=127.0.0.1:0', '--', 'node', example('hello.js')],
    /hello from pid \d+ \(generation \d+\)/,
  ],
  [
    'express-style.js (app.listen(PORT), unmodified)',
    ['--listen=127.0.0.1:0', '--', 'node', example('express-style.js')],
    /express-style app, pid \d+/,
  ],
  [
    'helper.js (tsdaemon/app)',
    ['--listen=web=127.0.0.1:0', '--', 'node', example('helper.js')],
    /helper app, pid \d+/,
  ],
  [
    'server.py (Python on fd 3)',
    ['--listen=127.0.0.1:0', '--', 'python3', example('server.py')],
    /python server, pid \d+/,
  ],
];

for (const [name, args, answer] of cases) {
  test(`example ${name}: served, hot-restarted, drained`, async (t) => {
    const daemon = startDaemon(t, args);
    const port = await daemon.port();
    await daemon.waitFor(/generation 1 ready/);
    assert.match((await get(port)).body, answer);
    daemon.signal('SIGHUP');
    await daemon.waitFor(/generation 2 ready/);
    await daemon.waitFor(/generation 1 exited/);
    assert.match((await get(port)).body, answer);
    daemon.signal('SIGTERM');
    assert.equal((await daemon.exited).code, 0);
  });
}

test('examples/kubernetes.yaml is the manifest docs/kubernetes.md shows, and its command runs as written', async (t) => {
  const manifest = readFileSync(
    fileURLToPath(new URL('../../examples/kubernetes.yaml', import.meta.url)),
    'utf8',
  );
  const docs = readFileSync(fileURLToPath(new URL('../../docs/kubernetes.md', import.meta.url)), 'utf8');
  const body = manifest.replace(/^#.*\n/gm, '');
  assert.ok(
    docs.includes(`\`\`\`yaml\n${body}\`\`\``),
    'docs/kubernetes.md shows examples/kubernetes.yaml unchanged',
  );
  // The container command, with the port made free for the test and the example app in place of app.js.
  const [, command] = /command: (\[.*\])/.exec(manifest);
  const [tsdaemon, ...args] = JSON.parse(command);
  assert.equal(tsdaemon, 'tsdaemon');
  const daemon = startDaemon(
    t,
    args.map((arg) =>
      arg === '--listen=:8080' ? '--listen=127.0.0.1:0' : arg === 'app.js' ? example('hello.js') : arg,
    ),
  );
  const port = await daemon.port();
  await daemon.waitFor(/generation 1 ready/);
  assert.match((await get(port)).body, /hello from pid/);
  daemon.signal('SIGTERM');
  await daemon.waitFor(/running -> draining/);
  assert.equal((await daemon.exited).code, 0);
});
