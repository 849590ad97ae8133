// Real third-party servers from Debian's packages under tsdaemon with no --ready flag: Python's
// socketserver (waits in poll), gunicorn's sync worker with 2 workers (pre-fork, workers wait in select),
// uvicorn (asyncio, epoll). Each is seen ready, a SIGHUP under load completes a hot restart (a new
// generation answers), and none is killed by the ready timeout.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { startLoad } from '../helpers/load.mjs';
import { FIXTURES, fixture, getJson, sleep, startDaemon } from '../helpers/tsdaemon.mjs';

const PYTHON = '/usr/bin/python3';
const hasModule = (name) =>
  existsSync(`/usr/lib/python3/dist-packages/${name}`) ||
  existsSync(`/usr/local/lib/python3/dist-packages/${name}`);
// gunicorn takes the socket from LISTEN_FDS by itself (`--bind fd://3` as well would make it open fd 3
// twice and fail with EBADF); uvicorn needs --fd 3.
const SERVERS = [
  { name: 'Python socketserver', skip: !existsSync(PYTHON), args: [PYTHON, fixture('py-socketserver.py')] },
  {
    name: 'gunicorn sync, 2 workers',
    skip: !existsSync('/usr/bin/gunicorn'),
    args: ['/usr/bin/gunicorn', '--chdir', FIXTURES, '-w', '2', '--graceful-timeout', '5', 'wsgi_app:app'],
  },
  {
    name: 'uvicorn',
    skip: !hasModule('uvicorn'),
    args: [PYTHON, '-m', 'uvicorn', '--app-dir', FIXTURES, '--fd', '3', 'asgi_app:app'],
  },
];

for (const server of SERVERS) {
  test(`${server.name}: ready with no --ready flag, and a SIGHUP under load is a completed hot restart`, {
    skip: server.skip && `needs ${server.args[0]}`,
  }, async (t) => {
    const daemon = startDaemon(t, ['--ready-timeout=5s', '--listen=127.0.0.1:0', '--', ...server.args], {
      env: { PYTHONDONTWRITEBYTECODE: '1' },
    });
    const port = await daemon.port();
    const [line] = await daemon.waitFor(/generation 1 ready: [^\n]*/);
    assert.match(line, /ready: accepting on an inherited socket: pid \d+/);
    const first = new Set();
    for (let i = 0; i < 4; i++) first.add((await getJson(port, '/')).pid);

    const load = startLoad({ port, connections: 4 });
    t.after(() => load.stop());
    await sleep(300);
    daemon.signal('SIGHUP');
    // Under load a worker may be seen holding a connection before it is seen waiting: both are honest.
    await daemon.waitFor(
      /generation 2 ready: (accepting on an inherited socket|an accepted connection)/,
      15_000,
    );
    await daemon.waitFor(/generation 1 exited/, 15_000);
    await sleep(200);
    const stats = await load.stop();
    t.diagnostic(`${stats.ok} requests, ${stats.failed} failed ${JSON.stringify([...stats.errors])}`);

    const after = (await getJson(port, '/')).pid;
    assert.ok(!first.has(after), `answered by the new generation (pid ${after}, before: ${[...first]})`);
    assert.ok(
      [...stats.pids].some((pid) => !first.has(pid)),
      'the load reached the new generation',
    );
    assert.ok(stats.ok > 0);
    assert.doesNotMatch(daemon.output, /not ready within/);
  });
}
