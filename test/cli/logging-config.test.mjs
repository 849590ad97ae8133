// Logging (levels, text and JSON, a file that keeps every line) and where options come from (flags win
// over TSDAEMON_* variables, which win over the --config file).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { fixture, getJson, startDaemon, tempDir } from '../helpers/tsdaemon.mjs';

test('--log-format=json: one JSON object per line with time, level, pid, state and msg', async (t) => {
  const daemon = startDaemon(t, ['--log-format=json', '--listen=127.0.0.1:0', '--', 'true']);
  assert.equal((await daemon.exited).code, 0);
  const lines = daemon.stderr
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  assert.ok(lines.length >= 3);
  for (const line of lines) {
    assert.equal(line.pid, daemon.pid);
    assert.match(line.time, /^\d{4}-\d\d-\d\dT/);
    assert.ok(['info', 'warn', 'error', 'debug', 'verbose'].includes(line.level));
    assert.ok(['starting', 'running', 'restarting', 'draining', 'stopped'].includes(line.state));
    assert.equal(typeof line.msg, 'string');
  }
  assert.ok(lines.some((line) => line.msg.startsWith('listening tcp 127.0.0.1:') && line.fd === 3));
  assert.equal(lines.at(-1).state, 'stopped');
});

test('text lines carry the pid and state and no colour codes when stderr is not a terminal', async (t) => {
  const daemon = startDaemon(t, ['--', 'true']);
  await daemon.exited;
  assert.match(
    daemon.stderr,
    new RegExp(`info +\\[${daemon.pid} starting\\] starting \\(start\\) generation=1`),
  );
  assert.ok(!daemon.stderr.includes('\u001b['), 'no ANSI escape codes');
});

test('-v and -vv raise the level; --log-level=error silences info', async (t) => {
  const quiet = startDaemon(t, ['--log-level=error', '--', 'true']);
  await quiet.exited;
  assert.equal(quiet.stderr, '');
  const debug = startDaemon(t, ['-vv', '--', 'true']);
  await debug.exited;
  assert.match(debug.stderr, /debug +\[\d+ starting\] event start/);
  const verbose = startDaemon(t, ['-v', '--', 'true']);
  await verbose.exited;
  assert.doesNotMatch(verbose.stderr, /debug/);
});

test('--log-file gets every line, up to the last one written at exit', async (t) => {
  const file = `${tempDir(t)}/tsdaemon.log`;
  const daemon = startDaemon(t, [`--log-file=${file}`, '-vv', '--', 'sh', '-c', 'exit 3']);
  assert.equal((await daemon.exited).code, 3);
  const logged = readFileSync(file, 'utf8');
  assert.equal(logged, daemon.stderr, 'the file holds exactly what went to stderr');
  assert.match(logged.trim().split('\n').at(-1), /draining -> stopped exitCode=3$/);
});

test('options come from TSDAEMON_* and --config; flags win over env, env over the file', async (t) => {
  const dir = tempDir(t);
  writeFileSync(
    `${dir}/tsdaemon.json`,
    JSON.stringify({ listen: ['fromfile=127.0.0.1:0'], logFormat: 'json', 'lame-duck': '3s' }),
  );
  const fileOnly = startDaemon(t, [`--config=${dir}/tsdaemon.json`, '--', 'node', fixture('env-server.js')]);
  const filePort = await fileOnly.port('fromfile');
  assert.equal((await getJson(filePort, '/')).env.LISTEN_FDNAMES, 'fromfile');
  assert.match(fileOnly.stderr, /^\{"time"/, 'logFormat from the file');

  const envWins = startDaemon(t, ['--', 'node', fixture('env-server.js')], {
    env: {
      TSDAEMON_CONFIG: `${dir}/tsdaemon.json`,
      TSDAEMON_LISTEN: 'fromenv=127.0.0.1:0',
      TSDAEMON_LOG_FORMAT: 'text',
    },
  });
  const envPort = await envWins.port('fromenv');
  assert.equal((await getJson(envPort, '/')).env.LISTEN_FDNAMES, 'fromenv');
  assert.match(envWins.stderr, /^\d{4}-/, 'text from the environment beats json from the file');

  const flagWins = startDaemon(t, ['--listen=fromflag=127.0.0.1:0', '--', 'node', fixture('env-server.js')], {
    env: { TSDAEMON_LISTEN: 'fromenv=127.0.0.1:0 second=127.0.0.1:0' },
  });
  const flagPort = await flagWins.port('fromflag');
  const info = await getJson(flagPort, '/');
  assert.equal(info.env.LISTEN_FDNAMES, 'fromflag');
  assert.equal(info.env.TSDAEMON_LISTEN, undefined, "tsdaemon's own options are not passed to the child");
});

test('TSDAEMON_LISTEN holds several listeners separated by spaces', async (t) => {
  const daemon = startDaemon(t, ['--', 'node', fixture('env-server.js')], {
    env: { TSDAEMON_LISTEN: 'a=127.0.0.1:0 b=127.0.0.1:0' },
  });
  const port = await daemon.port('a');
  assert.equal((await getJson(port, '/')).env.LISTEN_FDNAMES, 'a:b');
});

test('with --log-file the children output is logged line by line with generation and pid; control bytes escaped', async (t) => {
  const file = `${tempDir(t)}/app.log`;
  const script = 'echo hello; printf "\\033[31mred\\n" >&2; printf "no newline at the end"';
  const daemon = startDaemon(t, [`--log-file=${file}`, '--ready=timer:50ms', '--', 'sh', '-c', script]);
  assert.equal((await daemon.exited).code, 0);
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const pid = Number(/generation=1 pid=(\d+)/.exec(lines.join('\n'))[1]);
  assert.ok(lines.some((l) => l.endsWith(`] hello child=stdout generation=1 pid=${pid}`)));
  assert.ok(lines.some((l) => l.endsWith(`] \\x1b[31mred child=stderr generation=1 pid=${pid}`)));
  assert.ok(
    lines.some((l) => l.includes('] no newline at the end child=stdout')),
    'the partial last line is kept',
  );
  assert.match(lines.at(-1), /draining -> stopped exitCode=0$/, 'and it comes before tsdaemon exits');
});

test('without --log-file the children output is inherited, not rewritten', async (t) => {
  const daemon = startDaemon(t, [
    '--ready=timer:50ms',
    '--',
    'sh',
    '-c',
    'echo plain-stdout; echo plain-stderr >&2',
  ]);
  await daemon.exited;
  assert.match(daemon.stdout, /^plain-stdout$/m);
  assert.match(daemon.stderr, /^plain-stderr$/m);
});
