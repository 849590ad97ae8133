// Bad input of every kind: malformed option values (property-based), hostile paths for the
// pidfile, unix sockets, the control socket and the log file, wrong types in TSDAEMON_* variables and in
// the --config file. Every case runs the built tsdaemon and checks what an operator sees: the documented
// exit code, one clear line naming the option, and nothing left behind (no pidfile, no socket file, no log
// file, no child). docs/reliability.md ("Bad input") lists the cases with the names of these tests.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { constants } from 'node:os';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { BIN, Daemon, isAlive, sleep, tempDir, worldReadableBin } from '../helpers/tsdaemon.mjs';

const EXIT_USAGE = 64;
const EXIT_LISTEN = 65;
const EXIT_PRIVILEGES = 66;
const EXIT_PIDFILE = 67;
const isRoot = process.getuid() === 0;
const NOBODY = 65534;

// Every tsdaemon gets a marker in its environment, which its children inherit: a process that still has it
// after tsdaemon exited is a child left behind.
const MARKER = 'TSD_BAD_INPUT_MARKER';
// Batches of BATCH values run in parallel; RUNS batches per option: 6 malformed values each by default, so
// the file stays under a minute on 2 cores (a tsdaemon start costs ~150 ms of CPU). Search deeper with
// BAD_INPUT_RUNS=20 node --test test/cli/bad-input.test.mjs (60 values per option).
const BATCH = 3;
const RUNS = Number(process.env.BAD_INPUT_RUNS ?? 2);
const NO_DIR = '/nonexistent-tsdaemon-bad-input';

// Directories removed at the end of this file: property runs have no test context of their own.
const cleanups = [];
after(() => {
  for (const clean of cleanups) clean();
});
const fileContext = { after: (clean) => cleanups.push(clean) };
const fileTempDir = () => tempDir(fileContext, 'tsdaemon-bad-');

/** Pids of live processes whose environment holds MARKER=mark. */
function marked(mark) {
  const needle = `${MARKER}=${mark}\0`;
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(needle) && isAlive(Number(entry)))
        pids.push(Number(entry));
    } catch {}
  }
  return pids;
}

/** What is in dir (names, file contents, link targets, modes), to compare before and after a run. */
function snapshot(dir) {
  const out = {};
  for (const name of readdirSync(dir).sort()) {
    const path = `${dir}/${name}`;
    const stat = lstatSync(path);
    const mode = (stat.mode & 0o7777).toString(8);
    if (stat.isSymbolicLink()) out[name] = `link -> ${readlinkSync(path)}`;
    else if (stat.isDirectory()) out[name] = { mode, uid: stat.uid, entries: snapshot(path) };
    else if (stat.isFile()) out[name] = `file ${mode} ${readFileSync(path, 'utf8')}`;
    else out[name] = `other ${mode}`;
  }
  return out;
}

/**
 * Run tsdaemon with args (a child `sleep 30` after --) until it exits (at most deadlineMs), then SIGKILL
 * whatever it left (by pid) and report: exit code, stderr, and the pids that were still running with our
 * marker.
 */
async function run(args, { env = {}, cwd, prefix, bin, deadlineMs = 8000 } = {}) {
  const mark = randomUUID();
  const daemon = new Daemon([...args, '--', 'sleep', '30'], {
    env: { ...env, [MARKER]: mark },
    cwd,
    ...(prefix ? { prefix } : {}),
    ...(bin ? { bin } : {}),
  });
  let timer;
  const exit = await Promise.race([
    daemon.exited,
    new Promise((resolve) => {
      timer = setTimeout(() => resolve({ code: `still running after ${deadlineMs} ms` }), deadlineMs);
    }),
  ]);
  clearTimeout(timer);
  await daemon.cleanup();
  await daemon.closed;
  const left = marked(mark);
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  return { args, code: exit.code, stderr: daemon.stderr, left };
}

const LOG_LINE = /^\d{4}-\d\d-\d\dT\S+ +(error|warn|info|verbose|debug) +\[\d+ [a-z]+\] /;
const HINT = "Run 'tsdaemon --help' for the options.";

/**
 * The run failed the way docs/errors.md says: exit code, and either the two lines of a usage error (the
 * message, then the hint) or log lines of which exactly one is an error (ending in its exit code) — never a
 * stack trace — and the error names the option (names). No child is left.
 */
function assertCleanFailure(result, code, names) {
  const where = `tsdaemon ${result.args.join(' ')}\nstderr:\n${result.stderr}`;
  assert.equal(result.code, code, `exit code of ${where}`);
  const lines = result.stderr.trimEnd().split('\n');
  if (lines[0]?.startsWith('tsdaemon: ')) {
    assert.equal(code, EXIT_USAGE, `only usage errors have the short form: ${where}`);
    assert.deepEqual(lines.slice(1), [HINT], `one error line and the hint: ${where}`);
    assert.match(lines[0], names, where);
  } else {
    for (const line of lines) assert.match(line, LOG_LINE, `only log lines, no stack trace: ${where}`);
    const errors = lines.filter((line) => / error +\[/.test(line));
    assert.equal(errors.length, 1, `exactly one error line: ${where}`);
    assert.match(errors[0], names, where);
    assert.match(errors[0], new RegExp(`exitCode=${code}$`), where);
  }
  assert.doesNotMatch(result.stderr, /generation 1/, `no child was started: ${where}`);
  assert.deepEqual(result.left, [], `no process left behind: ${where}`);
}

// ---------------------------------------------------------------------------------------------------------
// 1. Every option with malformed values.

const word = fc.stringMatching(/^[a-z][a-z0-9-]{0,9}$/);
const notIn = (...valid) => word.filter((w) => !valid.includes(w));
const isSignal = (text) => {
  const value = text.toUpperCase();
  return (value.startsWith('SIG') ? value : `SIG${value}`) in constants.signals;
};
const badDuration = fc.oneof(
  word,
  fc
    .tuple(fc.nat(1000), fc.constantFrom('x', 'd', 'w', 'y', 'us', 'ns', 'sec', 'min', 'S', 'H'))
    .map(([n, unit]) => `${n}${unit}`),
  fc.nat(1000).map((n) => `-${n}s`),
  fc.nat(1000).map((n) => `${n}e3`),
  // Longer than setTimeout can wait (2^31-1 ms, 596.5 h): Node would fire it after 1 ms.
  fc.integer({ min: 597, max: 10_000_000 }).map((h) => `${h}h`),
);
const anyJunk = fc.string({ unit: 'binary', minLength: 0, maxLength: 12 }).filter((s) => !s.includes('\0'));

/** option → [arbitrary of malformed values, exit code (or (value) => code), what the error line says]. */
const MALFORMED = {
  listen: [
    fc.oneof(
      fc.integer({ min: 65_536, max: 9_999_999 }).map((port) => `127.0.0.1:${port}`),
      notIn('systemd'),
      fc.integer({ min: 0, max: 2 }).map((fd) => `&${fd}`),
      word.map((w) => `&${w}`),
      fc
        .tuple(fc.integer({ min: 1, max: 65_535 }), notIn('backlog', 'reuseport', 'ipv6only'))
        .map(([port, option]) => `:${port},${option}`),
      fc.integer({ min: 65_536 }).map((backlog) => `:8080,backlog=${backlog}`),
      word.map((w) => `unix:/tmp/x.sock,mode=${w}9`),
      word.map((w) => `[${w}]:80`),
      word.map((w) => `b@d!${w}=:8080`),
      fc.constantFrom('unix:', 'web=', ':8080,', '::1:80', 'udp:', 'systemd:a:b'),
    ),
    EXIT_USAGE,
    /^tsdaemon: --listen '/,
  ],
  'stop-signal': [
    fc.oneof(
      word.filter((w) => !isSignal(w)),
      fc.integer({ min: 65, max: 99_999 }).map(String),
      fc.constantFrom('KILL', 'SIGKILL', 'sigstop', '9', '19', '0', ''),
    ),
    EXIT_USAGE,
    /^tsdaemon: --stop-signal: '/,
  ],
  'lame-duck': [badDuration, EXIT_USAGE, /^tsdaemon: --lame-duck: '/],
  'lame-duck-delay': [badDuration, EXIT_USAGE, /^tsdaemon: --lame-duck-delay: '/],
  'ready-timeout': [
    fc.oneof(badDuration, fc.constantFrom('0', '0s', '0ms')),
    EXIT_USAGE,
    /^tsdaemon: --ready-timeout: '/,
  ],
  ready: [
    fc.oneof(
      notIn('auto', 'fd', 'ipc', 'accept'),
      badDuration.map((d) => `timer:${d}`),
      fc.constantFrom('timer:', 'timer:0', 'timer:0s'),
    ),
    EXIT_USAGE,
    /^tsdaemon: --ready: '/,
  ],
  user: [
    fc.oneof(
      word.map((w) => `${w}:`),
      word.map((w) => `:${w}`),
      word.map((w) => `tsd-no-${w}`),
      fc.constantFrom(':', ''),
    ),
    // A malformed USER[:GROUP] is a usage error; a well-formed name nobody has is a --user error.
    (value) => (/^tsd-no-/.test(value) ? EXIT_PRIVILEGES : EXIT_USAGE),
    /--user/,
  ],
  pidfile: [
    fc.oneof(
      word.map((w) => `${NO_DIR}/${w}.pid`),
      word.map((w) => `missing-${w}/app.pid`),
    ),
    EXIT_PIDFILE,
    /--pidfile=.*the directory .* does not exist/,
  ],
  control: [
    fc.oneof(
      word.map((w) => `${NO_DIR}/${w}.sock`),
      word.map((w) => `missing-${w}/ctl.sock`),
    ),
    EXIT_LISTEN,
    // The message names the path, not the option (src/control/server.ts; see docs/reliability.md).
    /cannot serve the control socket .*does not exist/,
  ],
  restart: [
    fc.oneof(
      notIn('always', 'on-failure', 'never'),
      anyJunk.filter((s) => !['always', 'on-failure', 'never'].includes(s)),
    ),
    EXIT_USAGE,
    /^tsdaemon: Invalid values: Argument: restart, Given: /,
  ],
  'max-restarts': [
    fc.oneof(
      word,
      fc.nat().map(String),
      fc.tuple(fc.nat(100), badDuration).map(([n, d]) => `${n}/${d}`),
      fc.nat(100).map((n) => `${n}/0s`),
      fc.nat(100).map((n) => `-${n + 1}/30s`),
      fc.integer({ min: 1_000_000_000 }).map((n) => `${n}/30s`),
    ),
    EXIT_USAGE,
    /^tsdaemon: --max-restarts: '/,
  ],
  workers: [
    fc.oneof(
      word,
      fc.constantFrom('0', '00', '1e3', '+1', '0x10', ' 1'),
      fc.integer({ min: 1000 }).map(String),
      fc.nat().map((n) => `-${n + 1}`),
      fc.tuple(fc.nat(99), fc.integer({ min: 1, max: 9 })).map(([a, b]) => `${a}.${b}`),
      anyJunk.filter((s) => !/^\d{1,3}$/.test(s) || Number(s) < 1),
    ),
    EXIT_USAGE,
    /^tsdaemon: --workers: '/,
  ],
  'max-memory': [
    fc.oneof(
      word.filter((w) => !/^[kmgtb]/.test(w)),
      fc.constantFrom('0', '0M', '-1M', '1X', '1 G G', 'M'),
      fc.nat().map((n) => `${n}x`),
      fc.integer({ min: 8192, max: 1e9 }).map((n) => `${n}T`),
    ),
    EXIT_USAGE,
    /^tsdaemon: --max-memory: '/,
  ],
  'log-level': [
    notIn('error', 'warn', 'info', 'verbose', 'debug'),
    EXIT_USAGE,
    /^tsdaemon: Invalid values: Argument: log-level, Given: /,
  ],
  'log-format': [
    notIn('text', 'json'),
    EXIT_USAGE,
    /^tsdaemon: Invalid values: Argument: log-format, Given: /,
  ],
  'log-file': [
    fc.oneof(
      word.map((w) => `${NO_DIR}/${w}.log`),
      word.map((w) => `missing-${w}/app.log`),
    ),
    EXIT_USAGE,
    /^tsdaemon: --log-file: cannot open '.*' for appending: ENOENT$/,
  ],
  'env-file': [
    fc.oneof(
      word.map((w) => `${NO_DIR}/${w}.env`),
      word.map((w) => `missing-${w}.env`),
    ),
    EXIT_USAGE,
    /^tsdaemon: --env-file: cannot read '.*': ENOENT$/,
  ],
  chdir: [
    fc.oneof(
      word.map((w) => `${NO_DIR}/${w}`),
      word.map((w) => `missing-${w}`),
    ),
    EXIT_USAGE,
    /^tsdaemon: --chdir: cannot use '.*': ENOENT \(no such directory\)$/,
  ],
  'allow-unsafe-install': [
    notIn('true', 'false'),
    EXIT_USAGE,
    /^tsdaemon: --allow-unsafe-install: '.*' is not true or false/,
  ],
  config: [
    fc.oneof(
      word.map((w) => `${NO_DIR}/${w}.json`),
      word.map((w) => `missing-${w}.json`),
    ),
    EXIT_USAGE,
    /^tsdaemon: --config: cannot read '.*': ENOENT$/,
  ],
  daemon: [notIn('true', 'false'), EXIT_USAGE, /^tsdaemon: --daemon: '.*' is not true or false/],
  preload: [notIn('true', 'false'), EXIT_USAGE, /^tsdaemon: --preload: '.*' is not true or false/],
  'bind-shim': [notIn('true', 'false'), EXIT_USAGE, /^tsdaemon: --bind-shim: '.*' is not true or false/],
  verbose: [fc.oneof(word, fc.nat().map(String)), EXIT_USAGE, /^tsdaemon: --verbose takes no value/],
};

test('every option of --help is covered by the malformed-value tests', () => {
  const help = execFileSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
  const options = [...help.matchAll(/^ +(?:-\w, )?--([a-z-]+)/gm)].map((m) => m[1]);
  const untested = options.filter((o) => !(o in MALFORMED) && o !== 'help' && o !== 'version');
  assert.deepEqual(untested, []);
});

for (const [option, [values, expected, names]] of Object.entries(MALFORMED)) {
  test(`malformed --${option}: exit ${typeof expected === 'number' ? expected : '64/66'}, one line naming it, nothing left`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(values, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        await Promise.all(
          batch.map(async (value) => {
            const cwd = fileTempDir();
            const result = await run([`--${option}=${value}`], { cwd });
            const code = typeof expected === 'function' ? expected(value) : expected;
            assertCleanFailure(result, code, names);
            assert.deepEqual(
              snapshot(cwd),
              {},
              `nothing made in the working directory by --${option}=${value}`,
            );
            rmSync(cwd, { recursive: true, force: true });
          }),
        );
      }),
      { numRuns: RUNS },
    );
  });
}

test('an option that takes one value given twice is refused, not half-applied', async () => {
  const results = await Promise.all([
    run(['--user=nobody', '--user=nobody']),
    run(['--pidfile=/tmp/a.pid', '--pidfile=/tmp/b.pid']),
    run(['--lame-duck=1s', '--lame-duck=2s']),
    run(['-w', '2', '--workers=3']),
  ]);
  assertCleanFailure(
    results[0],
    EXIT_USAGE,
    /^tsdaemon: --user: given 2 times \('nobody', 'nobody'\); give it once$/,
  );
  assertCleanFailure(results[1], EXIT_USAGE, /^tsdaemon: --pidfile: given 2 times/);
  assertCleanFailure(results[2], EXIT_USAGE, /^tsdaemon: --lame-duck: given 2 times/);
  assertCleanFailure(results[3], EXIT_USAGE, /^tsdaemon: --workers: given 2 times/);
  assert.equal(existsSync('/tmp/a.pid') || existsSync('/tmp/b.pid'), false);
});

test('an option without its value, or the value missing after --config, says which', async () => {
  const results = await Promise.all([
    run(['--lame-duck']),
    run(['--config', '--listen=127.0.0.1:0']),
    run(['--config=']),
    run(['--listen=']),
  ]);
  assertCleanFailure(results[0], EXIT_USAGE, /^tsdaemon: Not enough arguments following: lame-duck$/);
  assertCleanFailure(results[1], EXIT_USAGE, /^tsdaemon: Not enough arguments following: config$/);
  assertCleanFailure(results[2], EXIT_USAGE, /^tsdaemon: --config: empty value/);
  assertCleanFailure(results[3], EXIT_USAGE, /^tsdaemon: Not enough arguments following: listen$/);
});

// ---------------------------------------------------------------------------------------------------------
// 2. Hostile paths for the pidfile, a unix listen socket, the control socket and the log file.

/**
 * A directory with the usual suspects: a file with content ("passwd"), a symlink to it, a dangling symlink,
 * a directory, a sticky world-writable directory owned by nobody, a world-writable one without the sticky
 * bit, and a sticky world-writable one owned by root (like /tmp).
 */
function hostileDir() {
  const dir = fileTempDir();
  writeFileSync(`${dir}/passwd`, 'root:x:0:0:root:/root:/bin/sh\n');
  symlinkSync(`${dir}/passwd`, `${dir}/link`);
  symlinkSync(`${dir}/nothere`, `${dir}/dangling`);
  mkdirSync(`${dir}/dir`);
  for (const [name, mode] of [
    ['shared', 0o1777],
    ['open', 0o777],
    ['tmp', 0o1777],
  ]) {
    mkdirSync(`${dir}/${name}`);
    chmodSync(`${dir}/${name}`, mode);
  }
  if (isRoot) chownSync(`${dir}/shared`, NOBODY, NOBODY);
  return dir;
}

// How each kind of path is given, its exit code, and what its error line starts with.
const KINDS = {
  pidfile: { arg: (p) => `--pidfile=${p}`, code: EXIT_PIDFILE, names: /--pidfile=/ },
  'unix socket': { arg: (p) => `--listen=unix:${p}`, code: EXIT_LISTEN, names: /--listen=unix:/ },
  'control socket': { arg: (p) => `--control=${p}`, code: EXIT_LISTEN, names: /the control socket / },
  'log file': { arg: (p) => `--log-file=${p}`, code: EXIT_USAGE, names: /^tsdaemon: --log-file: / },
};

// [case, path in the hostile dir, kind → what the error says]; every one is refused with the kind's code.
const HOSTILE = [
  [
    'is a symlink to an existing file',
    'link',
    {
      pidfile: /is a symlink/,
      'unix socket': /EEXIST \(.* exists and is not a socket/,
      'control socket': /the path exists and is not a socket/,
      'log file': /is a symlink; tsdaemon does not follow symlinks/,
    },
  ],
  [
    'is a dangling symlink',
    'dangling',
    {
      pidfile: /is a symlink/,
      'unix socket': /EEXIST \(.* exists and is not a socket/,
      'control socket': /the path exists and is not a socket/,
      'log file': /is a symlink; tsdaemon does not follow symlinks/,
    },
  ],
  [
    'is a directory where a file is expected',
    'dir',
    {
      pidfile: /exists and is not a regular file/,
      'unix socket': /EEXIST \(.* exists and is not a socket/,
      'control socket': /the path exists and is not a socket/,
      'log file': /for appending: EISDIR$/,
    },
  ],
  [
    'is in a directory that does not exist',
    'missing/x',
    {
      pidfile: /the directory .*\/missing does not exist/,
      'unix socket': /ENOENT \(the directory .*\/missing does not exist/,
      'control socket': /the directory .*\/missing does not exist/,
      'log file': /for appending: ENOENT$/,
    },
  ],
  [
    'has a parent that is a file',
    'passwd/x',
    {
      pidfile: /passwd is not a directory/,
      'unix socket': /ENOTDIR/,
      'control socket': /ENOTDIR/,
      'log file': /for appending: ENOTDIR$/,
    },
  ],
  [
    'is in a sticky world-writable directory owned by another user',
    'shared/x',
    {
      pidfile: /shared is writable by every user \(mode 1777\) and owned by uid 65534/,
      'unix socket': /shared is writable by every user \(mode 1777\) and owned by uid 65534/,
      'control socket': /shared is writable by every user/,
      'log file': /shared is writable by every user \(mode 1777\) and owned by uid 65534/,
    },
  ],
  [
    'is in a world-writable directory without the sticky bit',
    'open/x',
    {
      pidfile: /open is writable by every user \(mode 0777\)/,
      'unix socket': /open is writable by every user \(mode 0777\)/,
      'control socket': /open is writable by every user/,
      'log file': /open is writable by every user \(mode 0777\)/,
    },
  ],
];

// Not fixed yet: the control socket's directory is not checked (src/control/server.ts is another
// engineer's; docs/reliability.md has the suggested fix).
const TODO = {};

// The cases are independent: four at a time.
describe('hostile paths', { concurrency: 4 }, () => {
  for (const [kind, { arg, code, names }] of Object.entries(KINDS)) {
    for (const [name, relative, says] of HOSTILE) {
      const todo = TODO[kind]?.[name];
      const needsRoot =
        relative.startsWith('shared') && !isRoot && 'needs root to chown a directory to nobody';
      test(`${kind} path ${name}: refused with exit ${code}, nothing touched`, {
        todo,
        skip: needsRoot,
      }, async () => {
        const dir = hostileDir();
        const before = snapshot(dir);
        // A known gap (todo) starts the child: do not wait long for it.
        const result = await run([arg(`${dir}/${relative}`)], todo ? { deadlineMs: 1500 } : {});
        assertCleanFailure(result, code, names);
        assertCleanFailure(result, code, says[kind]);
        assert.deepEqual(snapshot(dir), before, 'no file made, changed, followed or removed');
      });
    }
  }
});

test('a pidfile path that holds a file tsdaemon did not write is neither overwritten nor removed', async () => {
  const dir = hostileDir();
  const before = snapshot(dir);
  const result = await run([`--pidfile=${dir}/passwd`]);
  assertCleanFailure(
    result,
    EXIT_PIDFILE,
    /--pidfile=.*passwd exists and holds no pid; .*code=pidfile-not-pidfile/,
  );
  assert.deepEqual(snapshot(dir), before);
});

test('a unix socket or control socket path that holds a regular file: refused, the file kept', async () => {
  const dir = hostileDir();
  const before = snapshot(dir);
  const [unix, control] = await Promise.all([
    run([`--listen=unix:${dir}/passwd`]),
    run([`--control=${dir}/passwd`]),
  ]);
  assertCleanFailure(
    unix,
    EXIT_LISTEN,
    /EEXIST \(.*passwd exists and is not a socket; tsdaemon will not replace it\)/,
  );
  assertCleanFailure(control, EXIT_LISTEN, /passwd: the path exists and is not a socket/);
  assert.deepEqual(snapshot(dir), before);
});

test('relative paths are taken from the working directory and everything made there is removed at exit', async () => {
  const dir = fileTempDir();
  const daemon = new Daemon(
    ['--pidfile=app.pid', '--control=ctl.sock', '--listen=unix:app.sock', '--log-file=app.log', '--', 'true'],
    { cwd: dir },
  );
  try {
    assert.equal((await daemon.exited).code, 0, daemon.stderr);
    assert.match(daemon.stderr, new RegExp(`listening unix ${dir}/app\\.sock `));
    // The log file is the operator's to keep; the pidfile and both sockets are gone.
    assert.deepEqual(readdirSync(dir), ['app.log']);
  } finally {
    await daemon.cleanup();
  }
});

test('a sticky world-writable directory owned by root (like /tmp) is fine for every path', async () => {
  const dir = hostileDir();
  const daemon = new Daemon(
    [
      `--pidfile=${dir}/tmp/app.pid`,
      `--control=${dir}/tmp/ctl.sock`,
      `--listen=unix:${dir}/tmp/app.sock,mode=0600`,
      `--log-file=${dir}/tmp/app.log`,
      '--',
      'sh',
      '-c',
      `stat -c '%n %a' ${dir}/tmp/app.sock ${dir}/tmp/ctl.sock; cat ${dir}/tmp/app.pid`,
    ],
    {},
  );
  try {
    assert.equal((await daemon.exited).code, 0, daemon.stderr);
    assert.match(daemon.stderr, /app\.sock 600 /, 'mode= applied to the socket file');
    assert.match(daemon.stderr, /ctl\.sock 600 /);
    assert.match(daemon.stderr, new RegExp(`\\] ${daemon.pid} child=stdout`), 'the pidfile held our pid');
    assert.deepEqual(readdirSync(`${dir}/tmp`), ['app.log']);
  } finally {
    await daemon.cleanup();
  }
});

test('a failure after a unix socket was bound removes the socket file again', async () => {
  const dir = hostileDir();
  const before = snapshot(dir);
  const results = await Promise.all([
    run([`--listen=unix:${dir}/tmp/a.sock`, `--listen=unix:${dir}/open/b.sock`]),
    run([`--listen=unix:${dir}/tmp/c.sock`, `--control=${dir}/passwd`]),
    run([`--listen=unix:${dir}/tmp/d.sock`, `--listen=unix:${dir}/dangling`]),
  ]);
  assertCleanFailure(results[0], EXIT_LISTEN, /code=listen-unsafe-directory/);
  assertCleanFailure(results[1], EXIT_LISTEN, /code=control-socket/);
  assertCleanFailure(results[2], EXIT_LISTEN, /code=listen-eexist/);
  assert.deepEqual(snapshot(dir), before);
});

// ---------------------------------------------------------------------------------------------------------
// 3. TSDAEMON_* variables with values of the wrong kind, and bad --config files.

const ENV_CASES = [
  [{ TSDAEMON_WORKERS: 'abc' }, /^tsdaemon: --workers: 'abc' is not a number of workers/],
  [{ TSDAEMON_LAME_DUCK: '-1' }, /^tsdaemon: --lame-duck: '-1' is not a duration/],
  [
    { TSDAEMON_LAME_DUCK: '9999h' },
    /^tsdaemon: --lame-duck: '9999h' is longer than the 24 days a timer can wait/,
  ],
  [{ TSDAEMON_READY_TIMEOUT: '0' }, /^tsdaemon: --ready-timeout: '0' must be more than 0/],
  [{ TSDAEMON_MAX_MEMORY: 'lots' }, /^tsdaemon: --max-memory: 'lots' is not a size/],
  [{ TSDAEMON_MAX_RESTARTS: '5' }, /^tsdaemon: --max-restarts: '5' is not N\/WINDOW/],
  [{ TSDAEMON_RESTART: 'sometimes' }, /^tsdaemon: Invalid values: Argument: restart, Given: "sometimes"/],
  [{ TSDAEMON_LISTEN: '127.0.0.1:99999' }, /^tsdaemon: --listen '127\.0\.0\.1:99999': port/],
  [{ TSDAEMON_DAEMON: 'yes' }, /^tsdaemon: --daemon: TSDAEMON_DAEMON='yes' is not true or false$/],
  [{ TSDAEMON_VERBOSE: '2' }, /^tsdaemon: --verbose: TSDAEMON_VERBOSE='2' cannot say how verbose/],
  [{ TSDAEMON_PIDFILE: '' }, /^tsdaemon: --pidfile: empty value$/],
  [{ TSDAEMON_LOG_FILE: '' }, /^tsdaemon: --log-file: empty path$/],
  [{ TSDAEMON_CONFIG: '' }, /^tsdaemon: --config: empty value/],
  [{ TSDAEMON_CONFIG: `${NO_DIR}/x.json` }, /^tsdaemon: --config: cannot read '.*': ENOENT$/],
  [
    { TSDAEMON_LISTNE: ':80' },
    /^tsdaemon: unknown environment variable TSDAEMON_LISTNE: did you mean TSDAEMON_LISTEN\? /,
  ],
  [{ TSDAEMON_LISTEN: '' }, /^tsdaemon: TSDAEMON_LISTEN is set but empty: give the sockets/],
  [{ TSDAEMON_LISTEN: '  ' }, /^tsdaemon: TSDAEMON_LISTEN is set but empty/],
];

describe('TSDAEMON_* variables with wrong values', { concurrency: 4 }, () => {
  for (const [env, says] of ENV_CASES) {
    const [[name, value]] = Object.entries(env);
    test(`${name}=${JSON.stringify(value)}: exit 64, one line naming the option`, async () => {
      const cwd = fileTempDir();
      assertCleanFailure(await run([], { env, cwd }), EXIT_USAGE, says);
      assert.deepEqual(snapshot(cwd), {});
    });
  }
});

const CONFIG_CASES = [
  [
    'a directory',
    (dir) => mkdirSync(`${dir}/c.json`),
    /--config: '.*c\.json' is a directory; give a JSON file$/,
  ],
  ['a FIFO (would block)', (dir) => execFileSync('mkfifo', [`${dir}/c.json`]), /is no regular file/],
  ['not JSON', (dir) => writeFileSync(`${dir}/c.json`, '{ "listen": [":80",'), /is not valid JSON: /],
  ['empty', (dir) => writeFileSync(`${dir}/c.json`, ''), /is not valid JSON: /],
  ['a JSON array', (dir) => writeFileSync(`${dir}/c.json`, '[":80"]'), /must hold a JSON object/],
  ['JSON null', (dir) => writeFileSync(`${dir}/c.json`, 'null'), /must hold a JSON object/],
  [
    'larger than 1 MiB',
    (dir) => writeFileSync(`${dir}/c.json`, `{"listen": [":80"]}${' '.repeat(1024 * 1024)}`),
    /is 1048595 bytes; a config file has at most 1 MiB$/,
  ],
];
const WRONG_TYPES = [
  [{ workers: 'abc' }, /^tsdaemon: --workers: 'abc' is not a number/],
  [{ lameDuck: -5 }, /^tsdaemon: --lame-duck: '-5' is not a duration/],
  [{ listen: { web: ':80' } }, /^tsdaemon: --listen: \{"web":":80"\} is not an address/],
  [{ listen: [true] }, /^tsdaemon: --listen: true is not an address/],
  [{ 'listen.web': ':80' }, /^tsdaemon: --config: unknown option 'listen\.web' in /],
  [{ user: ['nobody', 'root'] }, /^tsdaemon: --user: given 2 times \('nobody', 'root'\)/],
  [{ user: { name: 'nobody' } }, /^tsdaemon: --user: \{"name":"nobody"\} is not a value for this option/],
  [{ pidfile: false }, /^tsdaemon: --pidfile: false is not a value for this option/],
  [{ logFile: null }, /^tsdaemon: --log-file: null is not a value for this option/],
  [{ daemon: 'yes' }, /^tsdaemon: --daemon: 'yes' in the config file is not true or false$/],
  [{ preload: 0 }, /^tsdaemon: --preload: 0 in the config file is not true or false$/],
  [{ verbose: '2' }, /^tsdaemon: --verbose: '2' in the config file is not a count/],
  [{ help: true }, /^tsdaemon: --config: 'help' in .* is no option a config file can set$/],
  [{ version: true }, /^tsdaemon: --config: 'version' in .* is no option a config file can set$/],
  [{ config: '/etc/other.json' }, /^tsdaemon: --config: 'config' in .* is no option a config file can set$/],
  [{ listne: [':80'] }, /^tsdaemon: --config: unknown option 'listne' in /],
];
for (const [json, says] of WRONG_TYPES) {
  CONFIG_CASES.push([
    `${JSON.stringify(json)}`,
    (dir) => writeFileSync(`${dir}/c.json`, JSON.stringify(json)),
    says,
  ]);
}

describe('bad --config files', { concurrency: 4 }, () => {
  for (const [name, make, says] of CONFIG_CASES) {
    test(`--config file ${name}: exit 64, one line naming it`, async () => {
      const dir = fileTempDir();
      make(dir);
      const before = snapshot(dir);
      assertCleanFailure(await run([`--config=${dir}/c.json`], { cwd: dir }), EXIT_USAGE, says);
      assert.deepEqual(snapshot(dir), before);
    });
  }
});

test('an unreadable --config file (mode 000, tsdaemon not root): EACCES', {
  skip: !isRoot && 'needs root to run tsdaemon as nobody',
}, async () => {
  const dir = fileTempDir();
  chmodSync(dir, 0o755);
  writeFileSync(`${dir}/c.json`, '{"workers": 2}');
  chmodSync(`${dir}/c.json`, 0o000);
  const result = await run([`--config=${dir}/c.json`], {
    cwd: '/',
    prefix: ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'],
    bin: worldReadableBinOnce(),
  });
  assertCleanFailure(result, EXIT_USAGE, /^tsdaemon: --config: cannot read '.*c\.json': EACCES$/);
});

let publicBin;
function worldReadableBinOnce() {
  if (!publicBin) {
    publicBin = worldReadableBin(fileContext);
  }
  return publicBin;
}

// Give children killed above a moment to be reaped before the next file's tests look at /proc.
after(() => sleep(10));
