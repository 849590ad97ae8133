// The project's Dockerfile, built and run in a real Docker engine (test/engines/docker.sh starts one and
// makes the base images locally). Checked as a user would see it: the image serves with tsdaemon as PID 1
// and an unprivileged user, `docker kill -s HUP` under load loses nothing, `docker stop` drains and exits
// 0, the HEALTHCHECK turns healthy, orphans are reaped, `--read-only` works, and an app image built FROM it
// with the Dockerfile of docs/docker.md (taken from the page itself, so the two cannot drift) works.
// Every container and image made here is removed by id or tag afterwards; the base images stay.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  containerProcesses,
  createDockerJanitor,
  DOCKER,
  docker,
  dockerfileBases,
  dockerUnavailable,
  publishedPort,
} from '../helpers/docker.mjs';
import { docBlocks } from '../helpers/docs.mjs';
import { announceUnavailable, until } from '../helpers/engines.mjs';
import { startLoad } from '../helpers/load.mjs';
import { get, ROOT, tempDir } from '../helpers/tsdaemon.mjs';

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const bases = dockerfileBases(dockerfile);
const runtimeBase = bases.at(-1);
// The image brings its own Node (the Dockerfile's): under another Node (npm run test:matrix) this file
// would check the very same image again.
const imageMajor = /^node:(\d+)-/.exec(runtimeBase)?.[1];
const otherNode =
  imageMajor !== process.versions.node.split('.')[0] &&
  `the image runs its own Node ${imageMajor}; this is Node ${process.version}`;
const unavailable = otherNode || dockerUnavailable(bases);
if (!otherNode) announceUnavailable(unavailable, 'test/engines/docker.test.mjs');
const MIB = 1024 * 1024;

// The app of "Your own app on top": a CommonJS app with its own package.json, an unmodified server that
// calls listen(8080), and uses tsdaemon/app (so the doc's `ln -sfn` is needed). /?ms=N answers after N
// ms (in-flight work for the drain); /orphans leaves three 3 s orphans behind (for PID 1 to reap).
const APP_FILES = {
  'package.json': `${JSON.stringify({ name: 'app', version: '1.0.0', private: true, scripts: { start: 'node server.js' } }, null, 2)}\n`,
  'package-lock.json': `${JSON.stringify(
    {
      name: 'app',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: { '': { name: 'app', version: '1.0.0' } },
    },
    null,
    2,
  )}\n`,
  '.dockerignore': 'node_modules\n',
  'server.js': `const http = require('node:http');
const { spawn } = require('node:child_process');
const { isSupervised } = require('tsdaemon/app');

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://app');
  if (url.pathname === '/orphans') spawn('sh', ['-c', '(sleep 3 &); (sleep 3 &); (sleep 3 &)'], { stdio: 'ignore' });
  const ms = Number(url.searchParams.get('ms') ?? 0);
  if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ pid: process.pid, generation: process.env.TSDAEMON_GENERATION, supervised: isSupervised(), nodeEnv: process.env.NODE_ENV }));
});
server.listen(8080);
`,
};

describe('Docker: the project Dockerfile in a real engine', { skip: unavailable, concurrency: true }, () => {
  const janitor = createDockerJanitor();
  const image = `tsdaemon-test:${process.pid}`;
  const appImage = `tsdaemon-test-app:${process.pid}`;
  // Cleanups of the suite's temporary directories (tempDir takes anything with an after(fn)).
  const temporary = [];
  const suite = { after: (fn) => temporary.push(fn) };
  let buildMs;
  let appBuild;

  before(async () => {
    const started = Date.now();
    await docker(['build', '-q', '-t', janitor.image(image), '.'], { timeoutMs: 15 * 60_000 });
    buildMs = Date.now() - started;
  });
  after(async () => {
    await janitor.cleanup();
    for (const cleanup of temporary.splice(0)) cleanup();
  });

  /** docker run -d, port 8080 published on a free loopback port; resolves { id, port } once it answers. */
  async function run(options = [], args = [], from = image) {
    const id = janitor.container(
      await docker(['run', '-d', '-p', '127.0.0.1::8080', ...options, from, ...args]),
    );
    const port = await publishedPort(id);
    await until(async () => (await get(port, '/', { timeoutMs: 2000 })).status === 200, {
      what: `${from} to answer on port ${port}`,
    }).catch(async (error) => {
      error.message += `\n--- docker logs:\n${await docker(['logs', id]).catch((e) => e.stderr)}`;
      throw error;
    });
    return { id, port };
  }

  // tsdaemon logs to stderr, the app to stdout: both.
  const logs = (id) =>
    new Promise((resolve) => {
      execFile(DOCKER, ['logs', id], (_error, stdout, stderr) => resolve(stdout + stderr));
    });
  const inspect = (id, format) => docker(['inspect', '-f', format, id]);

  /** The app image of docs/docker.md, built once (several tests use it). */
  function buildAppImage() {
    appBuild ??= (async () => {
      const dir = tempDir(suite, 'tsdaemon-docker-app-');
      for (const [name, content] of Object.entries(APP_FILES)) writeFileSync(join(dir, name), content);
      const [recipe] = docBlocks('docs/docker.md', '## Your own app on top', 'dockerfile');
      assert.match(recipe, /^FROM tsdaemon\n/);
      // Verbatim, but for the name of the tsdaemon image: this test's own build.
      writeFileSync(join(dir, 'Dockerfile'), recipe.replace(/^FROM tsdaemon\n/, `FROM ${image}\n`));
      await docker(['build', '-q', '-t', janitor.image(appImage), dir], { timeoutMs: 10 * 60_000 });
      return appImage;
    })();
    return appBuild;
  }

  it("tsdaemon's layers add less than 5 MB to the node base image", async (t) => {
    const [size, baseSize] = await Promise.all(
      [image, runtimeBase].map(async (name) =>
        Number(await docker(['image', 'inspect', '-f', '{{.Size}}', name])),
      ),
    );
    t.diagnostic(
      `image ${(size / MIB).toFixed(1)} MiB, ${runtimeBase} ${(baseSize / MIB).toFixed(1)} MiB, tsdaemon adds ${((size - baseSize) / MIB).toFixed(2)} MiB; build took ${(buildMs / 1000).toFixed(1)} s`,
    );
    assert.ok(size - baseSize < 5 * MIB, `tsdaemon adds ${size - baseSize} bytes`);
  });

  it('serves as PID 1 and the user node; the HEALTHCHECK turns healthy; tsdaemon writes no file', async () => {
    const { id } = await run();
    assert.match(await docker(['exec', id, 'cat', '/proc/1/cmdline']), /tsdaemon/);
    const processes = await containerProcesses(id);
    const app = processes.find((p) => p.ppid === 1 && p.comm === 'node');
    assert.ok(app, `the app runs below PID 1: ${JSON.stringify(processes)}`);
    for (const pid of [1, app.pid]) {
      const status = await docker(['exec', id, 'cat', `/proc/${pid}/status`]);
      assert.match(status, /\nUid:\s+1000\s+1000\s+1000\s+1000\n/, `pid ${pid} runs as node (1000)`);
    }
    await until(async () => (await inspect(id, '{{.State.Health.Status}}')) === 'healthy', {
      timeoutMs: 45_000,
      intervalMs: 500,
      what: 'the HEALTHCHECK to report healthy',
    });
    await docker(['kill', '-s', 'HUP', id]);
    await until(async () => /generation 2 ready/.test(await logs(id)), { what: 'generation 2' });
    // Nothing in the container's writable layer: the default CMD writes no file (see --read-only).
    assert.equal(await docker(['diff', id]), '');
  });

  it('docker kill -s HUP under load: 0 failed requests; then docker stop drains and exits 0', async (t) => {
    const { id, port } = await run();
    const load = startLoad({ port, connections: 8 });
    const servedBy = (count) =>
      until(() => load.stats.pids.size >= count, {
        timeoutMs: 30_000,
        what: `${count} app pids in the load`,
      });
    await servedBy(1);
    for (const generation of [2, 3, 4]) {
      await docker(['kill', '-s', 'HUP', id]);
      await until(async () => new RegExp(`generation ${generation} ready`).test(await logs(id)), {
        what: `generation ${generation}`,
      });
      await servedBy(generation); // the load goes on into the new generation
    }
    const stats = await load.stop();
    t.diagnostic(`${stats.ok} requests, ${stats.failed} failed, ${stats.pids.size} app pids`);
    assert.equal(stats.failed, 0, JSON.stringify([...stats.errors]));
    const started = Date.now();
    await docker(['stop', id]);
    t.diagnostic(`docker stop took ${Date.now() - started} ms`);
    // 0, not 137: tsdaemon drained and exited before docker's 10 s were up.
    assert.equal(await inspect(id, '{{.State.ExitCode}}'), '0');
  });

  it('docker run --read-only: serves, hot-restarts and stops; a control socket needs --tmpfs /tmp', async () => {
    const plain = await run(['--read-only']);
    await docker(['kill', '-s', 'HUP', plain.id]);
    await until(async () => /generation 2 ready/.test(await logs(plain.id)), { what: 'generation 2' });
    assert.equal((await get(plain.port)).status, 200);
    await docker(['stop', plain.id]);
    assert.equal(await inspect(plain.id, '{{.State.ExitCode}}'), '0');
    // The example of docs/docker.md: a control socket for `docker exec … tsdaemon reload`.
    const control = ['--listen=:8080', '--control=/tmp/tsdaemon.ctl', '--', 'node', 'hello.js'];
    const withTmp = await run(['--read-only', '--tmpfs', '/tmp'], control);
    assert.match(
      await docker(['exec', withTmp.id, 'tsdaemon', 'reload', '--control=/tmp/tsdaemon.ctl']),
      /^reloaded: generation 2 \(pid \d+\) is serving$/,
    );
    assert.match((await get(withTmp.port)).body, /generation 2/);
  });

  it('an app image built FROM it with the Dockerfile of docs/docker.md serves, reaps orphans and drains', async (t) => {
    await buildAppImage();
    const { id, port } = await run([], [], appImage);
    const answer = JSON.parse((await get(port)).body);
    assert.deepEqual(
      { supervised: answer.supervised, generation: answer.generation, nodeEnv: answer.nodeEnv },
      { supervised: true, generation: '1', nodeEnv: 'production' },
    );
    // Orphans: each /orphans leaves three `sleep 3` behind whose parent exited: PID 1 (tsdaemon) inherits
    // them, and must reap them when they end, or they stay as zombies.
    for (let i = 0; i < 3; i++) assert.equal((await get(port, '/orphans')).status, 200);
    const sleeps = async () => (await containerProcesses(id)).filter((p) => p.comm === 'sleep');
    await until(async () => (await sleeps()).filter((p) => p.ppid === 1).length >= 3, {
      what: 'orphaned sleeps, children of PID 1',
    });
    await until(async () => (await sleeps()).length === 0, {
      what: 'the orphans to end and be reaped (no zombie left)',
    });
    // docker stop with the doc's CMD (--lame-duck-delay=5s --lame-duck=20s) and -t above their sum: during
    // the delay a new request is still served, and it is in flight when the app is told to stop at the end
    // of the delay: it is answered, and the container exits 0.
    const started = Date.now();
    const stopped = docker(['stop', '-t', '30', id], { timeoutMs: 60_000 });
    await until(async () => /-> draining/.test(await logs(id)), { what: 'SIGTERM to reach tsdaemon' });
    assert.equal((await get(port, '/?ms=6000', { timeoutMs: 30_000 })).status, 200);
    await stopped;
    const took = Date.now() - started;
    t.diagnostic(`docker stop took ${took} ms (lame-duck delay 5 s, a 6 s request from within it)`);
    assert.equal(await inspect(id, '{{.State.ExitCode}}'), '0');
    assert.ok(took >= 5000, `docker stop took ${took} ms: --lame-duck-delay=5s was not waited for`);
    assert.match(await logs(id), /-> draining/);
  });

  it('the addon builds under --required on a base without Node headers (the headers come from npm)', async () => {
    const dir = tempDir(suite, 'tsdaemon-docker-addon-');
    mkdirSync(join(dir, 'native'));
    for (const file of ['build.mjs', 'build-shim.mjs', 'tsdaemon_native.c', 'tsdaemon_bind.c'])
      cpSync(join(ROOT, 'native', file), join(dir, 'native', file));
    cpSync(join(ROOT, 'node_modules/node-api-headers'), join(dir, 'node_modules/node-api-headers'), {
      recursive: true,
    });
    const build = [
      'rm -rf /usr/local/include/node /usr/include/node && cp -r /src /tmp/b && cd /tmp/b',
      'node native/build.mjs --required',
      `node -e "console.log(typeof require('./native/tsdaemon_native.node').reap)"`,
      'rm -rf node_modules && node native/build.mjs --required',
    ].join(' && ');
    const buildImage = bases[0];
    const failed = await docker(['run', '--rm', '-v', `${dir}:/src:ro`, buildImage, 'sh', '-c', build]).then(
      () => assert.fail('the build without any headers must fail under --required'),
      (error) => error,
    );
    assert.match(failed.stdout, /^function$/m, 'built and loaded with only node-api-headers');
    assert.match(failed.stderr, /Node-API headers \(node_api\.h\) were not found/);
  });

  it('the app image with CMD ["--listen=:8080", "--", "npm", "start"]: HUP under load loses nothing, stop exits 0', async (t) => {
    const from = await buildAppImage();
    const { id, port } = await run([], ['--listen=:8080', '--', 'npm', 'start'], from);
    const load = startLoad({ port, connections: 8 });
    await until(() => load.stats.pids.size >= 1, { what: 'an app pid in the load' });
    for (const generation of [2, 3]) {
      await docker(['kill', '-s', 'HUP', id]);
      await until(async () => new RegExp(`generation ${generation} ready`).test(await logs(id)), {
        what: `generation ${generation}`,
      });
      await until(() => load.stats.pids.size >= generation, { timeoutMs: 30_000, what: 'the new app pid' });
    }
    const stats = await load.stop();
    t.diagnostic(`npm start: ${stats.ok} requests, ${stats.failed} failed, ${stats.pids.size} app pids`);
    assert.equal(stats.failed, 0, JSON.stringify([...stats.errors]));
    await docker(['stop', id]);
    assert.equal(await inspect(id, '{{.State.ExitCode}}'), '0');
  });
});
