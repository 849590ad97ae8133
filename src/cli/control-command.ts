// tsdaemon status|reload|stop: talk to a running supervisor through its control socket (--control, or the
// PIDFILE.sock that goes with --pidfile). Exit 0 on success, 1 when the supervisor says no or is not
// there, 64 for usage errors.
//   status  a table (or --json): state, generations, pids, uptime, restarts, last failure, cpu/rss per child
//   reload  a hot restart; returns once the new generation is ready (exit 0) or the restart failed (exit 1)
//   stop    a lame-duck drain; returns once the supervisor process is gone
import { ControlUnavailable, request } from '../control/client.js';
import { type ControlCommand, controlPathFor } from '../control/wire.js';
import { EXIT_RELOAD_QUEUED } from '../exit-codes.js';
import { readPidfile } from '../os/pidfile.js';
import { isAlive } from '../os/process/alive.js';
import type { SupervisorStatus } from '../supervise/status.js';
import { UsageError } from './options.js';
import { formatDuration, parseDuration } from './units.js';
import { doneWithYargs, loadYargs } from './yargs-loader.js';

const DEFAULT_TIMEOUT_MS = 120_000;

interface ControlArgs {
  command: ControlCommand;
  control: string;
  pidfile?: string;
  json: boolean;
  timeoutMs: number;
}

const DESCRIPTIONS: Record<ControlCommand, string> = {
  status: 'print the state of a running tsdaemon',
  reload: 'hot restart; exit 0 once the new generation is ready, 1 if the restart failed',
  stop: 'lame-duck drain; return once tsdaemon is gone',
};

async function parseControlArgs(args: string[]): Promise<ControlArgs> {
  const command = args[0] as ControlCommand;
  let failure: string | undefined;
  // Loaded for this parse, not with the bundle that the supervisor runs from as well.
  const yargs = await loadYargs();
  // The command word is taken off here rather than declared with .command(): yargs lays out the whole
  // help text (cliui, string-width, an ICU segmenter: ~40 ms) at every run of a declared command.
  const argv = (await yargs(args.slice(1))
    .scriptName('tsdaemon')
    .usage(`$0 ${command}\n\n${DESCRIPTIONS[command]}`)
    // Not .env('TSDAEMON'): a unit's Environment=TSDAEMON_LISTEN=... is meant for the supervisor, and strict
    // parsing would refuse it here. Only the two variables that name the supervisor apply.
    .option('pidfile', {
      type: 'string',
      requiresArg: true,
      default: process.env.TSDAEMON_PIDFILE,
      describe: 'the --pidfile the supervisor was started with ($TSDAEMON_PIDFILE)',
    })
    .option('control', {
      type: 'string',
      requiresArg: true,
      default: process.env.TSDAEMON_CONTROL,
      describe: 'the --control socket (default: PIDFILE.sock; $TSDAEMON_CONTROL)',
    })
    .option('json', { type: 'boolean', default: false, describe: 'status as JSON' })
    .option('allow-unsafe-install', {
      type: 'boolean',
      describe: "as root, run even though a user other than root can change tsdaemon's files (bin/tsdaemon)",
    })
    .option('timeout', {
      type: 'string',
      requiresArg: true,
      default: formatDuration(DEFAULT_TIMEOUT_MS),
      describe: 'give up after this long',
    })
    .strict()
    .fail((message, error) => {
      failure = message ?? error?.message;
    })
    .help()
    .version(false)
    .parseAsync()) as Record<string, unknown>;
  doneWithYargs({ saveCodeCache: true });
  if (failure !== undefined) throw new UsageError(failure);
  const extra = (argv._ as unknown[]).map(String);
  if (extra.length > 0)
    throw new UsageError(`Unknown argument${extra.length > 1 ? 's' : ''}: ${extra.join(', ')}`);
  const pidfile = typeof argv.pidfile === 'string' ? argv.pidfile : undefined;
  const control =
    typeof argv.control === 'string' ? argv.control : pidfile ? controlPathFor(pidfile) : undefined;
  if (!control) throw new UsageError(`${command}: say which tsdaemon: --pidfile=PATH or --control=PATH`);
  const timeoutMs = parseDuration(String(argv.timeout));
  if (timeoutMs === undefined || timeoutMs <= 0)
    throw new UsageError(`--timeout: '${argv.timeout}' is not a duration (e.g. 30s)`);
  const out: ControlArgs = { command, control, json: argv.json === true, timeoutMs };
  if (pidfile) out.pidfile = pidfile;
  return out;
}

const seconds = (ms: number | undefined) =>
  ms === undefined ? '-' : formatDuration(Math.round(ms / 1000) * 1000);
const mib = (bytes: number | undefined) =>
  bytes === undefined ? '-' : `${(bytes / 1048576).toFixed(1)} MiB`;

interface Usage {
  cpu: number;
  memory: number;
}

type Pidusage = typeof import('pidusage');

/**
 * pidusage, loaded and ready. On its first call it asks getconf for the clock tick and the page size (two
 * processes, ~10 ms), so status starts it while the command line is still being parsed.
 */
function preparePidusage(): Promise<Pidusage> {
  return import('pidusage').then(async ({ default: pidusage }) => {
    await pidusage(process.pid, { maxage: 2000 }).catch(() => {});
    return pidusage;
  });
}

/** cpu % and rss of each child, measured here (pidusage reads /proc), so the supervisor stays lean. */
async function childUsage(pids: number[], prepared: Promise<Pidusage>): Promise<Record<number, Usage>> {
  if (pids.length === 0) return {};
  const pidusage = await prepared;
  try {
    return (await pidusage(pids, { maxage: 2000 })) as Record<number, Usage>;
  } catch {
    return {};
  } finally {
    pidusage.clear();
  }
}

async function printStatus(
  status: SupervisorStatus,
  json: boolean,
  prepared: Promise<Pidusage>,
): Promise<void> {
  const pids = status.generations.flatMap((g) => (g.pid === undefined ? [] : [g.pid]));
  const usage = await childUsage(pids, prepared);
  const generations = status.generations.map((g) => ({
    ...g,
    ...(g.pid !== undefined && usage[g.pid]
      ? { cpuPercent: Math.round(usage[g.pid]!.cpu * 10) / 10, rssBytes: usage[g.pid]!.memory }
      : {}),
  }));
  if (json) {
    process.stdout.write(`${JSON.stringify({ ...status, generations }, null, 2)}\n`);
    return;
  }
  const lines = [
    `tsdaemon pid ${status.pid}: ${status.state}, up ${seconds(status.uptimeMs)}, ${status.restarts} restarts (${status.failedRestarts} failed), rss ${mib(status.rssBytes)}`,
  ];
  if (status.lastFailure) lines.push(`last failure: ${status.lastFailure}`);
  lines.push('', 'WORKER  GENERATION  PID      STATUS    UPTIME  CPU     RSS');
  for (const g of generations) {
    const cpu = 'cpuPercent' in g ? `${g.cpuPercent}%` : '-';
    const rss = 'rssBytes' in g ? mib(g.rssBytes as number) : '-';
    lines.push(
      `${String(g.worker).padEnd(8)}${String(g.generation).padEnd(12)}${String(g.pid ?? '-').padEnd(9)}${g.status.padEnd(10)}${seconds(g.uptimeMs).padEnd(8)}${cpu.padEnd(8)}${rss}`,
    );
  }
  for (const g of generations)
    if (g.waiting) lines.push(`generation ${g.generation} not ready yet: ${g.waiting}`);
  const width = Math.max(8, ...status.listeners.map((l) => l.name.length)) + 2;
  lines.push('', `${'LISTENER'.padEnd(width)}FD  ADDRESS`);
  for (const l of status.listeners)
    lines.push(`${l.name.padEnd(width)}${String(l.fd).padEnd(4)}${l.address}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !isAlive(pid);
}

/** Run one control command; resolves with the exit code. */
export async function runControlCommand(args: string[]): Promise<number> {
  const pidusage = args[0] === 'status' ? preparePidusage() : undefined;
  pidusage?.catch(() => {});
  const options = await parseControlArgs(args);
  const fail = (message: string) => {
    process.stderr.write(`tsdaemon ${options.command}: ${message}\n`);
    return 1;
  };
  try {
    if (options.command === 'stop') {
      // The pid first: once the drain is over, nobody answers on the socket to tell it.
      const status = (await request(options.control, 'status', options.timeoutMs)).status as SupervisorStatus;
      const reply = await request(options.control, 'stop', options.timeoutMs);
      if (reply.ok !== true) return fail(String(reply.error));
      if (!(await waitGone(status.pid, options.timeoutMs)))
        return fail(`pid ${status.pid} still running after ${formatDuration(options.timeoutMs)}`);
      process.stdout.write(`stopped (pid ${status.pid})\n`);
      return 0;
    }
    const reply = await request(options.control, options.command, options.timeoutMs);
    if (reply.ok !== true) {
      fail(String(reply.error));
      return reply.queued === true ? EXIT_RELOAD_QUEUED : 1;
    }
    if (options.command === 'status')
      await printStatus(reply.status as SupervisorStatus, options.json, pidusage ?? preparePidusage());
    else process.stdout.write(`reloaded: generation ${reply.generation} (pid ${reply.pid}) is serving\n`);
    return 0;
  } catch (error) {
    if (error instanceof ControlUnavailable && options.pidfile) {
      const pid = readPidfile(options.pidfile);
      return fail(
        pid !== undefined && isAlive(pid)
          ? `${error.message}, though pid ${pid} from ${options.pidfile} is alive`
          : `${error.message}; is tsdaemon running?`,
      );
    }
    return fail((error as Error).message);
  }
}
