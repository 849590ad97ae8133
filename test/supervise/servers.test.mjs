// Real third-party servers from Debian under tsdaemon, with the drain settings docs/servers.md gives for
// each: a hot restart under keep-alive load fails no request, with no --ready flag (gunicorn's sync worker
// waits in select(), socketserver in poll(), uvicorn and Go in epoll). (bench/servers.mjs runs the long version,
// with more servers and without those settings, against a hand-over done without tsdaemon.)
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startLoad } from '../helpers/load.mjs';
import { sleep, startDaemon, tempDir } from '../helpers/tsdaemon.mjs';

const SERVERS = fileURLToPath(new URL('../../bench/servers/', import.meta.url));
const UVICORN_GRACEFUL = fileURLToPath(new URL('../../examples/uvicorn-graceful.py', import.meta.url));
const SERVERS_DOC = fileURLToPath(new URL('../../docs/servers.md', import.meta.url));
const PYTHON = '/usr/bin/python3'; // Debian's, where python3-gunicorn and python3-uvicorn live
const RESTARTS = 2;
const ENV = { BENCH_DELAY_MS: '20' };

const pythonHas = (module) => {
  try {
    execFileSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const goMissing = () => {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
    return false;
  } catch {
    return true;
  }
};

async function restartsUnderLoad(t, args) {
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', ...args], { env: ENV });
  const port = await daemon.port();
  await daemon.waitFor(/generation 1 ready/, 20_000);
  const load = startLoad({ port, connections: 16 });
  t.after(() => load.stop());
  await sleep(300);
  for (let gen = 2; gen <= RESTARTS + 1; gen++) {
    daemon.signal('SIGHUP');
    await daemon.waitFor(new RegExp(`generation ${gen} ready`), 20_000);
    await daemon.waitFor(new RegExp(`generation ${gen - 1} exited \\(code 0\\)`), 20_000);
    await sleep(200);
  }
  const stats = await load.stop();
  assert.equal(stats.failed, 0, `failed requests: ${JSON.stringify([...stats.errors])} (ok ${stats.ok})`);
  assert.ok(stats.ok > 50, `enough requests were made (${stats.ok})`);
  assert.ok(stats.pids.size >= RESTARTS + 1, `served by ${stats.pids.size} processes`);
  daemon.signal('SIGTERM');
  assert.equal((await daemon.exited).code, 0, daemon.output.slice(-2000));
}

// The four run side by side: each waits mostly for its server to start and drain.
describe('real servers, hot restarts under load', { concurrency: true }, () => {
  test('gunicorn, sync worker, 2 workers, --graceful-timeout below --lame-duck: restarts under load, 0 failed', {
    skip: !pythonHas('gunicorn') && 'no gunicorn for /usr/bin/python3 (apt-get install gunicorn)',
  }, async (t) => {
    await restartsUnderLoad(t, [
      '--',
      PYTHON,
      '/usr/bin/gunicorn',
      '--workers=2',
      '--graceful-timeout=10',
      `--chdir=${SERVERS}`,
      'wsgi:app',
    ]);
  });

  test('uvicorn through examples/uvicorn-graceful.py --fd 3: restarts under load, 0 failed', {
    skip: !pythonHas('uvicorn') && 'no uvicorn for /usr/bin/python3 (apt-get install python3-uvicorn)',
  }, async (t) => {
    await restartsUnderLoad(t, [
      '--',
      PYTHON,
      UVICORN_GRACEFUL,
      '--fd=3',
      '--no-access-log',
      `--app-dir=${SERVERS}`,
      'asgi:app',
    ]);
  });

  test("Python's socketserver with shutdown() from a thread and daemon_threads = False: 0 failed", async (t) => {
    await restartsUnderLoad(t, ['--', PYTHON, `${SERVERS}threading_http.py`, 'clean']);
  });

  test('the Go net/http server of docs/servers.md (stop accepting, Connection: close, Shutdown): 0 failed', async (t) => {
    if (goMissing()) {
      console.error(
        '\n!!! SKIPPED: no `go` on PATH (apt-get install golang-go): the Go server is not tested\n',
      );
      t.skip('no go on PATH (apt-get install golang-go)');
      return;
    }
    const dir = tempDir(t, 'tsdaemon-go-');
    const [, program] = /```go\n(package main\n[\s\S]*?)```/.exec(readFileSync(SERVERS_DOC, 'utf8')) ?? [];
    assert.ok(program, 'docs/servers.md shows a complete Go program');
    writeFileSync(join(dir, 'main.go'), program);
    // Not execFileSync: the other tests' load runs in this process and must not stall meanwhile.
    await promisify(execFile)('go', ['build', '-o', join(dir, 'server'), 'main.go'], { cwd: dir });
    assert.ok(existsSync(join(dir, 'server')));
    await restartsUnderLoad(t, ['--', join(dir, 'server')]);
  });
});
