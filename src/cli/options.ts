// The command line: yargs definitions, --help examples, and the checks that turn raw values into a
// RunConfig. Every option can also come from TSDAEMON_<OPTION> (e.g. TSDAEMON_LOG_LEVEL) and from a JSON
// --config file; flags win over the environment, the environment over the file (yargs' own precedence).
import { lstatSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Argv, Options } from 'yargs';
import {
  type CrashPolicy,
  DEFAULT_BACKOFF_INITIAL_MS,
  DEFAULT_BACKOFF_MAX_MS,
  DEFAULT_MAX_RESTARTS,
  DEFAULT_RESTART_WINDOW_MS,
  DEFAULT_STABLE_AFTER_MS,
} from '../core/crash-policy.js';
import { type ListenSpec, ListenSyntaxError, parseListen } from '../listen/address.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../os/log/levels.js';
import { unsafeDirectory } from '../os/privilege/safe-path.js';
import { normalizeSignal, signalNumber } from '../os/process/signal-names.js';
import type { ReadyMode } from '../os/readiness/ready-modes.js';
import { VERSION } from '../paths.js';
import { formatDuration, parseDuration, parseSize } from './units.js';
import { loadYargs } from './yargs-loader.js';

export const DEFAULT_LAME_DUCK_MS = 15_000;
export const DEFAULT_READY_TIMEOUT_MS = 60_000;
/** setTimeout's limit (2^31-1 ms, about 24.8 days): Node fires a longer timer after 1 ms instead. */
export const MAX_DURATION_MS = 2_147_483_647;

/**
 * A `run` command line, parsed and checked. Its crash policy (CrashPolicy: --restart, --max-restarts, and
 * the backoff, which has no flag of its own: the core's defaults, passed on here) goes to the core as is.
 */
export interface RunConfig extends CrashPolicy {
  command: string;
  args: string[];
  listen: ListenSpec[];
  logLevel: LogLevel;
  logFormat: LogFormat;
  logFile?: string;
  stopSignal: string;
  stopSignalNumber: number;
  lameDuckMs: number;
  lameDuckDelayMs: number;
  readyTimeoutMs: number;
  ready: ReadyMode;
  preload: boolean;
  /** --bind-shim: LD_PRELOAD the bind shim into the child (src/os/sockets/bind-shim.ts). */
  bindShim: boolean;
  /** --user USER[:GROUP], as given. */
  user?: string;
  /** --pidfile, absolute. */
  pidfile?: string;
  /** --control, absolute. */
  control?: string;
  daemon: boolean;
  /** --max-memory in bytes. */
  maxMemoryBytes?: number;
  workers: number;
  /** --chdir, absolute: where the children start. */
  chdir?: string;
  /** The variables of the --env-file files, for the children. */
  environment: Record<string, string>;
  /** --allow-unsafe-install (checked by bin/tsdaemon before this is parsed; kept for copies of tsdaemon). */
  allowUnsafeInstall: boolean;
}

/** A usage error: the option, the value and what would be valid, in one line. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** --max-restarts=N/WINDOW, e.g. 5/30s. */
export function parseMaxRestarts(text: string): { maxRestarts: number; restartWindowMs: number } {
  const match = /^(\d{1,9})\/(.+)$/.exec(text.trim());
  const windowMs = match ? parseDuration(match[2] as string) : undefined;
  if (!match || windowMs === undefined || windowMs <= 0 || windowMs > MAX_DURATION_MS) {
    throw new UsageError(
      `--max-restarts: '${text}' is not N/WINDOW (e.g. 5/30s: more than 5 crash restarts in 30 s gives up)`,
    );
  }
  return { maxRestarts: Number(match[1]), restartWindowMs: windowMs };
}

/** --ready=auto|fd|ipc|accept|timer:DURATION */
export function parseReadyMode(text: string): ReadyMode {
  const value = text.trim();
  if (value === 'auto' || value === 'fd' || value === 'ipc' || value === 'accept') return { kind: value };
  if (value.startsWith('timer:')) {
    const ms = parseDuration(value.slice(6));
    if (ms !== undefined && ms > 0 && ms <= MAX_DURATION_MS) return { kind: 'timer', ms };
  }
  throw new UsageError(
    `--ready: '${text}' is not a readiness mode (auto, fd, ipc, accept or timer:DURATION such as timer:2s)`,
  );
}

function duration(option: string) {
  return (value: unknown): number | undefined => {
    if (value === undefined) return undefined;
    const ms = parseDuration(String(value));
    if (ms === undefined)
      throw new UsageError(`--${option}: '${value}' is not a duration (e.g. 15s, 500ms, 2m, 1m30s)`);
    if (ms > MAX_DURATION_MS)
      throw new UsageError(`--${option}: '${value}' is longer than the 24 days a timer can wait`);
    return ms;
  };
}

/** How a value looks in a message: strings quoted as given, anything else (from a config file) as JSON. */
function shown(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : (JSON.stringify(value) ?? String(value));
}

/**
 * The one value of an option that takes one: a string, or a number from a config file. A flag given twice
 * would reach here as an array and a config file can hold any JSON; both are refused rather than ignored
 * (an ignored --user would run the child as root).
 */
function single(argv: Record<string, unknown>, key: string, option: string): string | undefined {
  const value = argv[key];
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (Array.isArray(value)) {
    throw new UsageError(
      `--${option}: given ${value.length} times (${value.map(shown).join(', ')}); give it once`,
    );
  }
  throw new UsageError(`--${option}: ${shown(value)} is not a value for this option (a string is expected)`);
}

const SWITCHES: Record<string, string> = {
  daemon: 'daemon',
  d: 'daemon',
  preload: 'preload',
  'no-preload': 'preload',
  'bind-shim': 'bind-shim',
  'no-bind-shim': 'bind-shim',
  'no-daemon': 'daemon',
  'allow-unsafe-install': 'allow-unsafe-install',
  'no-allow-unsafe-install': 'allow-unsafe-install',
};

/**
 * yargs reads any value of a boolean flag other than "true" as false (--daemon=1, TSDAEMON_DAEMON=yes,
 * {"preload": "yes"} would all turn the option off without a word), and counts --verbose=3 as one -v.
 * Checked on the raw values, before yargs converts them.
 */
export function checkSwitches(args: string[], config: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  for (const arg of args) {
    const match = /^--?([a-z-]+)=(.*)$/s.exec(arg);
    if (!match) continue;
    const [, key = '', value = ''] = match;
    const option = SWITCHES[key];
    if (option && value !== 'true' && value !== 'false') {
      throw new UsageError(
        `--${option}: '${value}' is not true or false (write --${option} or --no-${option})`,
      );
    }
    if (key === 'verbose' || key === 'v') {
      throw new UsageError(`--verbose takes no value: repeat it (-v, -vv) or use --log-level=debug`);
    }
  }
  for (const [option, variable] of [
    ['daemon', 'TSDAEMON_DAEMON'],
    ['allow-unsafe-install', 'TSDAEMON_ALLOW_UNSAFE_INSTALL'],
  ]) {
    const value = env[variable as string];
    if (value !== undefined && value !== 'true' && value !== 'false')
      throw new UsageError(`--${option}: ${variable}='${value}' is not true or false`);
  }
  if (env.TSDAEMON_VERBOSE !== undefined) {
    throw new UsageError(
      `--verbose: TSDAEMON_VERBOSE='${env.TSDAEMON_VERBOSE}' cannot say how verbose; use TSDAEMON_LOG_LEVEL=verbose or debug`,
    );
  }
  for (const [key, value] of Object.entries(config)) {
    const option = SWITCHES[key];
    if (option && typeof value !== 'boolean') {
      throw new UsageError(`--${option}: ${shown(value)} in the config file is not true or false`);
    }
    if ((key === 'verbose' || key === 'v') && !(Number.isInteger(value) && (value as number) >= 0)) {
      throw new UsageError(`--verbose: ${shown(value)} in the config file is not a count such as 0, 1 or 2`);
    }
  }
}

const EXAMPLES: [string, string][] = [
  ['$0 --listen=:8080 -- node app.js', 'run app.js on port 8080 (app.listen(8080) keeps working)'],
  [
    '$0 -l 127.0.0.1:8080 -l admin=unix:/run/app.sock -- node server.js',
    'two sockets: fd 3 and fd 4 (named "admin")',
  ],
  ['$0 --listen=:80 --log-format=json -- python3 app.py', 'a non-Node server that accepts on fd 3'],
  [
    '$0 --listen=:80 --user=www-data --pidfile=/run/app.pid -- node app.js',
    'as root: bind port 80, then run as www-data',
  ],
  ['$0 --listen=systemd -- ./server', 'take the sockets of a systemd .socket unit'],
  ['TSDAEMON_LISTEN=":8080" $0 -- node app.js', 'options from the environment'],
  [
    '$0 --config=tsdaemon.json -- node app.js',
    'options from a JSON file ({"listen": [":8080"], "lameDuck": "30s"})',
  ],
];

/** Every option of `tsdaemon [run]`, by its name on the command line. */
export const RUN_OPTIONS = {
  listen: {
    alias: 'l',
    type: 'string',
    array: true,
    requiresArg: true,
    describe:
      'a socket for the child: [NAME=]ADDR[,opt=val...]; ADDR is :PORT, HOST:PORT, [V6]:PORT, unix:PATH, udp:HOST:PORT, &FD or systemd[:NAME]; repeat for fds 4, 5, ...',
  },
  'stop-signal': {
    type: 'string',
    requiresArg: true,
    default: 'SIGTERM',
    describe: 'the signal that asks a child to drain and exit',
  },
  'lame-duck': {
    type: 'string',
    requiresArg: true,
    default: formatDuration(DEFAULT_LAME_DUCK_MS),
    describe: 'how long a stopping child may drain before SIGKILL',
  },
  'lame-duck-delay': {
    type: 'string',
    requiresArg: true,
    default: '0s',
    describe: 'on SIGTERM, keep serving this long before telling children to stop (for load balancers)',
  },
  ready: {
    type: 'string',
    requiresArg: true,
    default: 'auto',
    describe:
      'when a child counts as ready: auto, fd (READY=1 on $TSDAEMON_READY_FD), ipc (process.send("ready")), accept (it accepts on a socket) or timer:DURATION',
  },
  'ready-timeout': {
    type: 'string',
    requiresArg: true,
    default: formatDuration(DEFAULT_READY_TIMEOUT_MS),
    describe: 'a new child not ready within this is rolled back',
  },
  user: {
    alias: 'u',
    type: 'string',
    requiresArg: true,
    describe:
      'after binding the sockets (as root), become USER[:GROUP] with its groups; the children run as that user too',
  },
  pidfile: {
    type: 'string',
    requiresArg: true,
    describe:
      "write tsdaemon's pid here (atomically; refused if it names a running tsdaemon; removed on exit)",
  },
  control: {
    type: 'string',
    requiresArg: true,
    describe:
      'serve the control socket (status, reload, stop) here, mode 0600; default with --pidfile: PIDFILE.sock',
  },
  restart: {
    type: 'string',
    requiresArg: true,
    choices: ['always', 'on-failure', 'never'],
    default: 'on-failure',
    describe:
      'when a serving child exits on its own, start it again (with backoff): always, on-failure (not after exit 0) or never',
  },
  'max-restarts': {
    type: 'string',
    requiresArg: true,
    default: `${DEFAULT_MAX_RESTARTS}/${formatDuration(DEFAULT_RESTART_WINDOW_MS)}`,
    describe:
      "N/WINDOW: more crash restarts than N within WINDOW is a crash loop; tsdaemon then exits with the child's status",
  },
  workers: {
    alias: 'w',
    type: 'string',
    requiresArg: true,
    default: '1',
    describe: 'run N children on the same sockets (the kernel spreads connections); TSDAEMON_WORKER=0..N-1',
  },
  'max-memory': {
    type: 'string',
    requiresArg: true,
    describe: "when the serving child's RSS goes over this (512M, 1G), replace it with a hot restart",
  },
  daemon: {
    alias: 'd',
    type: 'boolean',
    default: false,
    describe:
      'detach into the background; exit 0 once the first child is ready, else with the error (for Type=forking)',
  },
  preload: {
    type: 'boolean',
    default: true,
    describe: 'give Node children a preload so listen(PORT) uses the inherited socket (--no-preload: off)',
  },
  'bind-shim': {
    type: 'boolean',
    default: true,
    describe:
      "LD_PRELOAD tsdaemon's bind shim into the child (not for node itself), so a server that binds its --listen port gets the inherited socket (--no-bind-shim: off)",
  },
  'log-level': {
    type: 'string',
    requiresArg: true,
    choices: LOG_LEVELS,
    describe: 'error, warn, info, verbose or debug [default: info]',
  },
  verbose: { alias: 'v', type: 'count', describe: 'more log output: -v verbose, -vv debug' },
  'log-format': {
    type: 'string',
    requiresArg: true,
    choices: LOG_FORMATS,
    default: 'text',
    describe: 'text (colour on a terminal) or json, one object per line',
  },
  'log-file': {
    type: 'string',
    requiresArg: true,
    describe: 'also append the log to this file (reopened on SIGHUP)',
  },
  config: { type: 'string', requiresArg: true, describe: 'read options from this JSON file' },
  'env-file': {
    type: 'string',
    array: true,
    requiresArg: true,
    describe:
      "KEY=VALUE lines for the children's environment (not tsdaemon's options); repeatable, later files win",
  },
  chdir: {
    type: 'string',
    requiresArg: true,
    describe: 'start the children in this directory (checked, like the command, as --user)',
  },
  'allow-unsafe-install': {
    type: 'boolean',
    default: false,
    describe: "as root, run even though a user other than root can change tsdaemon's own files",
  },
} satisfies Record<string, Options>;

/** The names an option can be given by (for "did you mean"): each option's, help and version. */
export const RUN_OPTION_NAMES = [...Object.keys(RUN_OPTIONS), 'help', 'version'];

/** The commands, one line each in --help; all but `run` are dispatched before it is parsed (src/cli/run-command.ts). */
const COMMANDS: [string, string][] = [
  ['tsdaemon [run] [options] -- CMD...', 'supervise CMD (the default)'],
  ['tsdaemon status --pidfile=PATH', 'state, generations, pids, restarts, cpu/rss (--json)'],
  ['tsdaemon reload --pidfile=PATH', 'hot restart; exit 0 once the new generation serves'],
  ['tsdaemon stop --pidfile=PATH', 'lame-duck drain; returns once tsdaemon has exited'],
  ['tsdaemon unit [options] -- CMD...', 'print a systemd unit for this command line'],
  ['tsdaemon doctor', 'what this install can do: Node, the native addon, journald'],
];

/** The help text: yargs' own, with the commands after the usage line (yargs would re-wrap them there). */
export async function helpText(parser: Argv): Promise<string> {
  const width = Math.min(110, process.stdout.columns || 100);
  const left = Math.max(...COMMANDS.map(([usage]) => usage.length)) + 4;
  const lines = COMMANDS.flatMap(([usage, what]) => {
    // The description wrapped into the right column.
    const rows: string[] = [];
    let row = '';
    for (const word of what.split(' ')) {
      if (row && left + row.length + 1 + word.length > width) {
        rows.push(row);
        row = word;
      } else row = row ? `${row} ${word}` : word;
    }
    rows.push(row);
    return rows.map((text, i) => `${(i === 0 ? `  ${usage}` : '').padEnd(left)}${text}`);
  });
  const commands = `Commands:\n${lines.join('\n')}\n  (status, reload and stop take --control=PATH in place of --pidfile)\n\n`;
  const help = await parser.getHelp();
  const at = help.indexOf('Options:');
  return `${at < 0 ? help : `${help.slice(0, at)}${commands}${help.slice(at)}`}\n`;
}

/** yargs is loaded here, for this parse, and let go afterwards (src/cli/yargs-loader.ts). */
export async function buildParser(
  args: string[],
  config: Record<string, unknown>,
  // yargs reads TSDAEMON_* from process.env itself (.env below); the switches are checked on the same values.
  env: NodeJS.ProcessEnv = process.env,
): Promise<Argv> {
  checkSwitches(args, config, env);
  const yargs = await loadYargs();
  return (
    yargs(args)
      .scriptName('tsdaemon')
      .usage(
        '$0 [run] [options] -- <command> [args...]\n\nRun <command> with the --listen sockets as fds 3, 4, ...; SIGHUP restarts it, SIGTERM drains it.',
      )
      // `run` is the default command; the others are dispatched before this parser runs (src/cli/run-command.ts) and
      // only listed in the usage text above.
      .command(['run', '$0'], 'supervise a command (the default)')
      .parserConfiguration({
        'populate--': false,
        'unknown-options-as-args': false,
        'camel-case-expansion': true,
        'greedy-arrays': false,
        // {"user": {"name": "x"}} or "listen.x" in a config file must be refused, not read as user.name.
        'dot-notation': false,
      })
      .env('TSDAEMON')
      .config(config)
      .options(RUN_OPTIONS)
      .example(EXAMPLES)
      .epilogue(
        "Exit status: the child's own (128+N if it died of signal N), 0 after a clean drain, or 64-70, 75 and 77 for tsdaemon's errors (docs/errors.md).",
      )
      .strict()
      .version(VERSION)
      .help()
      .alias('help', 'h')
      .wrap(Math.min(110, process.stdout.columns || 100))
  );
}

/** Turn yargs' output into a checked RunConfig. Throws UsageError naming the option. */
export function normalizeRunConfig(
  argv: Record<string, unknown>,
  command: string[],
  cwd: string,
  listenFromEnv = false,
): RunConfig {
  const [name, ...args] = command;
  if (name === undefined || name === '') {
    throw new UsageError('no command to run: put it after --, e.g. tsdaemon --listen=:8080 -- node app.js');
  }
  const listen: ListenSpec[] = [];
  const listenValues = argv.listen === undefined ? [] : [argv.listen].flat();
  for (const entry of listenValues) {
    if (typeof entry !== 'string' && !(typeof entry === 'number' && Number.isInteger(entry))) {
      throw new UsageError(
        `--listen: ${shown(entry)} is not an address (e.g. ":8080", "unix:/run/app.sock")`,
      );
    }
    // TSDAEMON_LISTEN=":8080 admin=unix:/run/a.sock" carries several values separated by spaces.
    const values = listenFromEnv ? String(entry).split(/\s+/).filter(Boolean) : [String(entry)];
    for (const one of values) {
      try {
        listen.push(parseListen(one, cwd));
      } catch (error) {
        if (error instanceof ListenSyntaxError) throw new UsageError(`--listen ${error.message}`);
        throw error;
      }
    }
  }
  const value = (key: string, option: string) => single(argv, key, option);
  const stopSignalText = value('stopSignal', 'stop-signal') ?? '';
  const stopSignal = normalizeSignal(stopSignalText);
  if (!stopSignal)
    throw new UsageError(
      `--stop-signal: '${stopSignalText}' is not a signal (e.g. SIGTERM, SIGINT, SIGQUIT, SIGUSR2)`,
    );
  for (const [key, option] of [
    ['daemon', 'daemon'],
    ['preload', 'preload'],
    ['allowUnsafeInstall', 'allow-unsafe-install'],
    ['bindShim', 'bind-shim'],
  ] as const) {
    if (typeof argv[key] !== 'boolean')
      throw new UsageError(`--${option}: ${shown(argv[key])} is not true or false`);
  }
  const verbosity = Number(argv.verbose ?? 0);
  const logLevel =
    (value('logLevel', 'log-level') as LogLevel | undefined) ??
    (verbosity >= 2 ? 'debug' : verbosity === 1 ? 'verbose' : 'info');
  const readyTimeoutText = value('readyTimeout', 'ready-timeout');
  const config: RunConfig = {
    command: name,
    args,
    listen,
    logLevel,
    logFormat: value('logFormat', 'log-format') as LogFormat,
    stopSignal,
    stopSignalNumber: signalNumber(stopSignal),
    lameDuckMs: duration('lame-duck')(value('lameDuck', 'lame-duck')) as number,
    lameDuckDelayMs: duration('lame-duck-delay')(value('lameDuckDelay', 'lame-duck-delay')) as number,
    readyTimeoutMs: duration('ready-timeout')(readyTimeoutText) as number,
    ready: parseReadyMode(value('ready', 'ready') ?? ''),
    preload: argv.preload !== false,
    bindShim: argv.bindShim !== false,
    daemon: argv.daemon === true,
    workers: 1,
    environment: {},
    allowUnsafeInstall: argv.allowUnsafeInstall === true,
    restart: value('restart', 'restart') as RunConfig['restart'],
    ...parseMaxRestarts(value('maxRestarts', 'max-restarts') ?? ''),
    backoffInitialMs: DEFAULT_BACKOFF_INITIAL_MS,
    backoffMaxMs: DEFAULT_BACKOFF_MAX_MS,
    stableAfterMs: DEFAULT_STABLE_AFTER_MS,
  };
  if (config.readyTimeoutMs <= 0)
    throw new UsageError(`--ready-timeout: '${readyTimeoutText}' must be more than 0`);
  const user = value('user', 'user');
  const pidfile = value('pidfile', 'pidfile');
  const control = value('control', 'control');
  const logFile = value('logFile', 'log-file');
  for (const [option, given] of [
    ['user', user],
    ['pidfile', pidfile],
    ['control', control],
  ] as const) {
    if (given === '') throw new UsageError(`--${option}: empty value`);
  }
  const maxMemory = value('maxMemory', 'max-memory');
  if (maxMemory !== undefined) {
    const bytes = parseSize(maxMemory);
    if (bytes === undefined || bytes <= 0)
      throw new UsageError(`--max-memory: '${maxMemory}' is not a size (e.g. 512M, 1G)`);
    config.maxMemoryBytes = bytes;
  }
  const workers = value('workers', 'workers') ?? '';
  if (!/^\d{1,3}$/.test(workers) || Number(workers) < 1) {
    throw new UsageError(`--workers: '${workers}' is not a number of workers from 1 to 999`);
  }
  config.workers = Number(workers);
  if (user !== undefined) config.user = user;
  if (pidfile !== undefined) config.pidfile = resolve(cwd, pidfile);
  if (control !== undefined) config.control = resolve(cwd, control);
  if (logFile !== undefined) {
    if (logFile === '') throw new UsageError('--log-file: empty path');
    checkLogFilePath(resolve(cwd, logFile), logFile);
    // Absolute: the log file is reopened later, when the working directory may be --chdir's.
    config.logFile = resolve(cwd, logFile);
  }
  const chdir = value('chdir', 'chdir');
  if (chdir !== undefined) config.chdir = checkChdir(chdir, cwd);
  return config;
}

/** --chdir DIR, absolute. It must be a directory now; whether the children's user may enter it is checked later. */
function checkChdir(given: string, cwd: string): string {
  if (given === '') throw new UsageError('--chdir: empty value');
  const path = resolve(cwd, given);
  try {
    if (!statSync(path).isDirectory()) throw new UsageError(`--chdir: '${given}' is not a directory`);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const errno = (error as NodeJS.ErrnoException).code ?? 'EIO';
    throw new UsageError(
      `--chdir: cannot use '${given}': ${errno}${errno === 'ENOENT' ? ' (no such directory)' : ''}`,
    );
  }
  return path;
}

/**
 * tsdaemon appends to the log file as root and hands it to --user: a symlink there (dangling or not)
 * would make it write to, create or chown whatever the link names. Refused, like one in a directory where
 * other users could put such a link.
 */
function checkLogFilePath(path: string, given: string): void {
  const unsafe = unsafeDirectory(path);
  if (unsafe) {
    throw new UsageError(
      `--log-file: '${given}': ${unsafe}; choose a directory only root or tsdaemon's user can write to`,
    );
  }
  try {
    if (lstatSync(path).isSymbolicLink())
      throw new UsageError(
        `--log-file: '${given}' is a symlink; tsdaemon does not follow symlinks for its log file (give the real path)`,
      );
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // Missing or unreachable: opening it reports that, with its errno.
  }
}
