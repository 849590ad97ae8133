// The Docker image's runtime layout, without a Docker engine (test/engines/docker.test.mjs builds and runs the real
// image where one runs; this check runs everywhere, in seconds): the files the Dockerfile's
// runtime stage copies, placed the same way (tsdaemon in opt/tsdaemon without node_modules, the app in
// app/), run the way the container runs them: tsdaemon as PID 1 of its own pid namespace, as an
// unprivileged user, with the image's ENTRYPOINT and CMD, checked with the image's HEALTHCHECK command.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { descendants, get, ROOT, startDaemon, tempDir } from '../helpers/tsdaemon.mjs';

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const canRun =
  process.getuid() === 0 &&
  existsSync('/usr/bin/unshare') &&
  existsSync('/usr/bin/setpriv') &&
  existsSync(join(ROOT, 'native/tsdaemon_native.node'));

/** The JSON array of a Dockerfile instruction (ENTRYPOINT, CMD, HEALTHCHECK … CMD) in the last stage. */
function jsonArray(instruction) {
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const match = new RegExp(`^${instruction}\\s+(?:.*\\\\\\n\\s*CMD\\s+)?(\\[.*\\])$`, 'm').exec(runtime);
  assert.ok(match, `${instruction} in the Dockerfile's runtime stage`);
  return JSON.parse(match[1]);
}

/** A root folder laid out like the image: every `COPY --from=build /src/X /opt/tsdaemon/…` and the app. */
function imageRoot(t) {
  const root = tempDir(t, 'tsdaemon-image-');
  for (const [, from, to] of dockerfile.matchAll(
    /^COPY --from=build \/src\/(\S+) \/(opt\/tsdaemon\/\S*)$/gm,
  )) {
    const target = to.endsWith('/') ? join(root, to, from.split('/').pop()) : join(root, to);
    cpSync(join(ROOT, from), target, { recursive: true });
  }
  mkdirSync(join(root, 'app/node_modules'), { recursive: true });
  symlinkSync(join(root, 'opt/tsdaemon'), join(root, 'app/node_modules/tsdaemon'));
  for (const [, from] of dockerfile.matchAll(/^COPY (examples\/\S+) \.\/$/gm)) {
    cpSync(join(ROOT, from), join(root, 'app', from.split('/').pop()));
  }
  chmodSync(root, 0o755);
  return root;
}

const asNode = (root) => [
  'unshare',
  '--pid',
  '--fork',
  '--mount-proc',
  'setpriv',
  '--reuid=nobody',
  '--regid=nogroup',
  '--clear-groups',
  '--',
  // The image's ENTRYPOINT is tsdaemon on PATH; here, the same file by its path in the image root.
  process.execPath,
  join(root, 'opt/tsdaemon/bin/tsdaemon'),
];

test('image layout: CMD serves the bundled example as PID 1 and an unprivileged user; HEALTHCHECK passes', {
  skip: !canRun && 'needs root, unshare, setpriv and the built native addon',
}, async (t) => {
  assert.deepEqual(jsonArray('ENTRYPOINT'), ['tsdaemon']);
  const root = imageRoot(t);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const cmd = jsonArray('CMD').map((arg) => arg.replace(/^--listen=:8080$/, `--listen=127.0.0.1:${port}`));
  const daemon = startDaemon(t, cmd, { prefix: asNode(root), cwd: join(root, 'app'), raw: true });
  await daemon.waitFor(/generation 1 ready/);
  assert.match((await get(port)).body, /hello from pid \d+ \(generation 1\)/);
  assert.doesNotMatch(daemon.stderr, /not reaped|warn/);
  const health = jsonArray('HEALTHCHECK').map((arg) => arg.replace(':8080/', `:${port}/`));
  await promisify(execFile)(health[0], health.slice(1), { timeout: 5000 });
  const [tsdaemon] = descendants(daemon.pid).filter((pid) =>
    readFileSync(`/proc/${pid}/status`, 'latin1').includes('\nUid:\t65534'),
  );
  assert.ok(tsdaemon, 'tsdaemon runs as nobody');
  process.kill(tsdaemon, 'SIGTERM');
  assert.equal((await daemon.exited).code, 0);
});

test('image layout: a CommonJS app in /app is loaded as CommonJS, and can require tsdaemon/app', {
  skip: !canRun && 'needs root, unshare, setpriv and the built native addon',
}, async (t) => {
  const root = imageRoot(t);
  writeFileSync(
    join(root, 'app/server.js'),
    `const http = require('node:http');
const { ready } = require('tsdaemon/app');
http.createServer((req, res) => res.end('commonjs ' + typeof ready + '\\n')).listen(process.env.PORT, () => ready());
`,
  );
  chmodSync(join(root, 'app/server.js'), 0o644);
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--ready=fd', '--', 'node', 'server.js'], {
    prefix: asNode(root),
    cwd: join(root, 'app'),
    raw: true,
  });
  const port = await daemon.port();
  await daemon.waitFor(/generation 1 ready/);
  assert.equal((await get(port)).body, 'commonjs function\n');
});
