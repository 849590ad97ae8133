// tsdaemon ends with the child's status, as tini does: the code, 128+N for signal N, 126/127 when the
// command cannot run; signals it does not handle itself reach the child.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixture, startDaemon, tempDir } from '../helpers/tsdaemon.mjs';

const cases = [
  ['0', 0],
  ['1', 1],
  ['7', 7],
  ['255', 255],
];
for (const [arg, expected] of cases) {
  test(`child exits ${arg} → tsdaemon exits ${expected}`, async (t) => {
    const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', fixture('exit-with.sh'), arg]);
    const { code } = await daemon.exited;
    assert.equal(code, expected);
  });
}

for (const [signal, number] of [
  ['KILL', 9],
  ['TERM', 15],
  ['SEGV', 11],
]) {
  test(`child dies of SIG${signal} → tsdaemon exits 128+${number}`, async (t) => {
    const daemon = startDaemon(t, ['--', fixture('exit-with.sh'), 'signal', signal]);
    const { code } = await daemon.exited;
    assert.equal(code, 128 + number);
  });
}

test('command not found → 127 with one clear line, before anything is bound', async (t) => {
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'no-such-command-xyz', 'arg']);
  const { code } = await daemon.exited;
  assert.equal(code, 127);
  assert.match(daemon.stderr, /command not found: no-such-command-xyz/);
  assert.doesNotMatch(daemon.stderr, /listening/);
});

test('command not executable → 126', async (t) => {
  const daemon = startDaemon(t, ['--', fixture('not-executable.sh')]);
  const { code } = await daemon.exited;
  assert.equal(code, 126);
  assert.match(daemon.stderr, /command not executable/);
});

test("a command that vanishes before a start still gets the shell's 127", async (t) => {
  // PATH lookup passes (sh exists), but the script's interpreter does not: the exec fails in the child.
  const { writeFileSync, chmodSync } = await import('node:fs');
  const dir = tempDir(t);
  writeFileSync(`${dir}/bad-interp`, '#!/nonexistent/interpreter\n');
  chmodSync(`${dir}/bad-interp`, 0o755);
  const daemon = startDaemon(t, ['--', `${dir}/bad-interp`]);
  const { code } = await daemon.exited;
  assert.equal(code, 127);
});

test('signals tsdaemon does not handle (SIGALRM, SIGWINCH) are forwarded to the child; SIGUSR1 logs a status report', async (t) => {
  const daemon = startDaemon(t, ['--', 'node', fixture('signals.js')]);
  await daemon.waitFor(/signals: ready/);
  await daemon.childPid();
  daemon.signal('SIGALRM');
  await daemon.waitFor(/signals: got SIGALRM/);
  daemon.signal('SIGWINCH');
  await daemon.waitFor(/signals: got SIGWINCH/);
  daemon.signal('SIGUSR1');
  await daemon.waitFor(
    /status state=running workers=1 uptimeS=\d+ restarts=0 generations="1:serving:pid=\d+/,
  );
  assert.doesNotMatch(daemon.output, /signals: got SIGUSR1/, "SIGUSR1 is tsdaemon's own");
  assert.doesNotMatch(daemon.output, /Debugger listening/, 'and never opens the inspector');
  daemon.signal('SIGTERM');
  const { code } = await daemon.exited;
  assert.equal(code, 0, 'a clean drain started by tsdaemon exits 0');
  assert.match(daemon.output, /signals: got SIGTERM/);
});

test('SIGINT drains like SIGTERM; the child is in its own process group', async (t) => {
  const daemon = startDaemon(t, ['--', 'node', fixture('signals.js')]);
  await daemon.waitFor(/signals: ready/);
  const pid = await daemon.childPid();
  const { readFileSync } = await import('node:fs');
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const [, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  assert.equal(Number(pgrp), pid, 'the child leads its own process group');
  daemon.signal('SIGINT');
  const { code } = await daemon.exited;
  assert.equal(code, 0);
  assert.match(daemon.output, /running -> draining \(SIGINT\)/);
});

test('a SIGTERM that arrives while tsdaemon is still starting drains the first child and exits 0', async (t) => {
  const daemon = startDaemon(t, ['--listen=127.0.0.1:0', '--', 'node', fixture('signals.js')]);
  await daemon.waitFor(/listening tcp/);
  daemon.signal('SIGTERM');
  const { code } = await daemon.exited;
  assert.equal(code, 0);
  assert.doesNotMatch(daemon.output, /internal error/);
});
