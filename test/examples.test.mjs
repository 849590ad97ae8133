// Every example in examples/ runs as the README says and answers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { get, startDaemon } from './helpers/tsdaemon.mjs';

const example = (name) => fileURLToPath(new URL(`../examples/${name}`, import.meta.url));

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
