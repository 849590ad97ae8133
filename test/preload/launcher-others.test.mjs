// Other Node launchers: `npx tsx app.ts` (npm exec -> sh -> tsx -> a second Node process, with tsx's IPC
// channel on fd 3), `yarn start` (yarn 1 exits at once on SIGTERM) and `pnpm start` (pnpm 10, the last
// pnpm written in Node, installed from the registry into a temp dir for the test).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { appDir, PLAIN_SERVER, restartUnderLoad, slowRequest, tempDir } from '../helpers/launch.mjs';
import { getJson, ROOT, sleep, startDaemon } from '../helpers/tsdaemon.mjs';

const PACKAGE = JSON.stringify({ name: 'app', private: true, scripts: { start: 'node server.js' } });

const TS_SERVER = `import http from 'node:http';
const server = http.createServer((req: http.IncomingMessage, res: http.ServerResponse) => {
  const ms: number = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? 0);
  setTimeout(() => res.end(JSON.stringify({ pid: process.pid, ppid: process.ppid })), ms);
});
server.listen(Number(process.env.PORT));
`;

/** Restarts under load, then SIGTERM with a request in flight: it is answered and tsdaemon exits 0. */
async function restartsAndDrain(daemon, port, restarts) {
  await daemon.waitFor(/generation 1 ready/, 40_000);
  const launcher = await daemon.childPid();
  assert.notEqual((await getJson(port, '/')).pid, launcher, 'the app answers, not the launcher');
  const stats = await restartUnderLoad(daemon, port, { restarts });
  assert.ok(stats.pids.size >= restarts, `served by ${stats.pids.size} generations`);
  const slow = slowRequest(port, 1500);
  await sleep(400);
  daemon.signal('SIGTERM');
  assert.equal((await slow).status, 200, 'the request in flight at SIGTERM was answered');
  assert.equal((await daemon.exited).code, 0, daemon.output);
  assert.doesNotMatch(daemon.output, /EADDRINUSE|SIGKILL/);
}

test('npx tsx app.ts: the socket reaches the second Node process although tsx puts IPC on fd 3', async (t) => {
  const dir = appDir(t, { 'app.ts': TS_SERVER });
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'npx', '--no-install', 'tsx', 'app.ts'], {
    cwd: dir,
  });
  const port = await daemon.port();
  await restartsAndDrain(daemon, port, 2);
});

test('yarn start (yarn 1): hot restarts under load and a SIGTERM drain lose nothing', async (t) => {
  const dir = appDir(t, { 'package.json': PACKAGE, 'server.js': PLAIN_SERVER });
  const daemon = startDaemon(
    t,
    ['--listen=127.0.0.1:0', '--', `${ROOT}node_modules/.bin/yarn`, '--silent', 'start'],
    { cwd: dir },
  );
  const port = await daemon.port();
  await restartsAndDrain(daemon, port, 2);
});

test('pnpm start (pnpm 10): hot restarts under load and a SIGTERM drain lose nothing', async (t) => {
  const prefix = tempDir(t, 'tsdaemon-pnpm-');
  try {
    execFileSync('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--silent', 'pnpm@10'], {
      stdio: 'ignore',
      timeout: 120_000,
    });
  } catch (error) {
    t.skip(`pnpm 10 could not be installed from the npm registry (${error.message.split('\n')[0]})`);
    return;
  }
  const dir = appDir(t, { 'package.json': PACKAGE, 'server.js': PLAIN_SERVER });
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', `${prefix}/node_modules/.bin/pnpm`, 'start'], {
    cwd: dir,
  });
  const port = await daemon.port();
  await restartsAndDrain(daemon, port, 2);
});
