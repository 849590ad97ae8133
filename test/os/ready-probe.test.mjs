// Readiness with no --ready flag, for every way a server waits for connections: small C servers
// (test/fixtures/wait-server.c, compiled here) that wait in poll, ppoll, select, pselect6, a blocking
// accept, epoll; a pre-fork server whose worker accepts; one the probe cannot see waiting until it holds
// an accepted connection; the probe after --user dropped privileges; and a server that still works after
// it set up its socket, which is ready once that is over (src/os/readiness/settle.ts).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { test } from 'node:test';
import { compile, withCc } from '../helpers/cc.mjs';
import { fixture, getJson, startDaemon, tempDir, worldReadableBin } from '../helpers/tsdaemon.mjs';

const asRoot = { skip: process.getuid() !== 0 && 'needs root' };

/** wait-server.c built into a world-readable temp dir, removed after the test. */
const buildServer = (t) => compile(t, 'wait-server.c');

const STYLES = [
  ['poll', /in poll\(fd 3\)/],
  ['ppoll', /in ppoll\(fd 3\)/],
  ['select', /in select\(fd 3\)/],
  ['pselect6', /in pselect6\(fd 3\)/],
  ['accept', /in accept\(fd 3\)/],
  ['epoll', /has fd 3 in its epoll set/],
];

test(
  'servers waiting in poll, ppoll, select, pselect6, accept or epoll are ready with no --ready flag',
  withCc,
  async (t) => {
    const bin = buildServer(t);
    const styles = process.arch === 'x64' ? STYLES : STYLES.filter(([s]) => s !== 'poll' && s !== 'select');
    const check = async ([style, how]) => {
      const daemon = startDaemon(t, ['--ready-timeout=5s', '--listen=127.0.0.1:0', '--', bin, style]);
      const port = await daemon.port();
      const [line] = await daemon.waitFor(/generation 1 ready: [^\n]*/);
      assert.match(line, /accepting on an inherited socket: pid \d+ /, style);
      assert.match(line, how, style);
      assert.match(line, /, settled after \d+ ms\)/, style);
      const answer = await getJson(port, '/');
      assert.equal(answer.mode, style);
      await daemon.cleanup();
    };
    // Two at a time: six supervisors starting at once on a loaded 2-core machine can take longer than the
    // helper's 10 s wait for their first log line.
    for (let i = 0; i < styles.length; i += 2) await Promise.all(styles.slice(i, i + 2).map(check));
  },
);

test(
  'a pre-fork server: its worker, not the process tsdaemon started, is seen waiting',
  withCc,
  async (t) => {
    const bin = buildServer(t);
    const daemon = startDaemon(t, ['--ready-timeout=5s', '--listen=127.0.0.1:0', '--', bin, 'prefork']);
    const port = await daemon.port();
    const worker = Number((await daemon.waitFor(/worker (\d+) waits from/))[1]);
    const [line] = await daemon.waitFor(/generation 1 ready: [^\n]*/);
    assert.match(line, new RegExp(`pid ${worker} thread ${worker} in poll\\(fd 3\\)`));
    assert.notEqual(Number(/ pid=(\d+)/.exec(line)[1]), worker, 'the generation is the master');
    assert.equal((await getJson(port, '/')).pid, worker);
  },
);

test(
  'a server the probe cannot see waiting is ready once it holds an accepted connection (tcp, unix)',
  withCc,
  async (t) => {
    // "sleepy" tries a non-blocking accept() every 10 ms between naps in nanosleep: no wait on the socket
    // ever shows in /proc. A client connects and says nothing for a while; the server holds the connection
    // (blocked reading it), and that connection, ESTABLISHED on the listener's address (for unix: with the
    // listener's path), makes it ready.
    const bin = buildServer(t);
    const dir = tempDir(t, 'tsdaemon-sleepy-');
    const run = async (listen, connect, where) => {
      const daemon = startDaemon(t, ['--ready-timeout=5s', `--listen=${listen}`, '--', bin, 'sleepy']);
      const target = await connect(daemon);
      await daemon.waitFor(/wait-server sleepy pid/);
      const client = net.connect(target);
      t.after(() => client.destroy());
      let answer = '';
      client.on('data', (chunk) => {
        answer += chunk;
      });
      const [line] = await daemon.waitFor(/generation 1 ready: [^\n]*/);
      assert.ok(line.includes(`ready: an accepted connection: pid `), line);
      assert.ok(line.includes(`, a connection accepted on ${where(target)}, settled after `), line);
      client.write('GET / HTTP/1.0\r\n\r\n');
      await new Promise((resolve) => client.on('end', resolve));
      assert.match(answer, /"mode":"sleepy"/);
    };
    const tcp = async (daemon) => ({ host: '127.0.0.1', port: await daemon.port() });
    const unix = async (daemon) => {
      await daemon.waitFor(/listening unix/);
      return { path: `${dir}/app.sock` };
    };
    await Promise.all([
      run('127.0.0.1:0', tcp, ({ port }) => `tcp 127.0.0.1:${port}`),
      run(`unix:${dir}/app.sock`, unix, ({ path }) => `unix ${path}`),
    ]);
  },
);

test('--user=nobody: the unprivileged supervisor still sees its child wait in poll', {
  ...asRoot,
  ...withCc,
}, async (t) => {
  const bin = buildServer(t);
  const cli = worldReadableBin(t);
  const daemon = startDaemon(
    t,
    ['--user=nobody', '--ready-timeout=5s', '--listen=127.0.0.1:0', '--', bin, 'poll'],
    { bin: cli, cwd: '/tmp' },
  );
  const port = await daemon.port();
  await daemon.waitFor(/running as nobody/);
  const [line] = await daemon.waitFor(/generation 1 ready: [^\n]*/);
  assert.match(line, /accepting on an inherited socket: pid \d+ thread \d+ in poll\(fd 3\)/);
  const { pid } = await getJson(port, '/');
  const uid = execFileSync('stat', ['-c', '%u', `/proc/${pid}`], { encoding: 'utf8' }).trim();
  assert.equal(uid, '65534');
});

test('a server that is still busy starting after it set up its socket is ready once that is over, or after 500 ms', async (t) => {
  // py-server.py blocks in accept() while a second thread burns a core: for 300 ms (start-up work after
  // the socket is set up), or for longer than tsdaemon waits. The busy thread says on stderr (tsdaemon's
  // stderr too, so the order of the lines is the order of the writes) when it is done.
  const start = (busyMs) =>
    startDaemon(t, ['--listen=127.0.0.1:0', '--', fixture('py-server.py')], {
      env: { BUSY_MS: String(busyMs) },
    });
  const [settles, busy] = [start(300), start(3000)];
  const [line] = await settles.waitFor(/generation 1 ready: [^\n]*/);
  assert.match(
    line,
    /accepting on an inherited socket: pid \d+ thread \d+ in accept4?\(fd 3\), settled after \d+ ms\)/,
  );
  const output = settles.output;
  assert.ok(output.indexOf('py-server: busy done') < output.indexOf(line), output);
  const [busyLine] = await busy.waitFor(/generation 1 ready: [^\n]*/);
  assert.match(busyLine, /in accept4?\(fd 3\), still busy after \d+ ms \(\d+ % of a core\)\)/);
  assert.ok(!busy.output.includes('py-server: busy done'), busy.output);
});
