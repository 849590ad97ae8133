// tsdaemon unit [unit options] [tsdaemon options] -- <command> [args...]: print a systemd service unit that
// runs exactly this command line under tsdaemon (and, with --socket, a .socket unit that binds its
// --listen addresses), as `pm2 startup` does for PM2. The tsdaemon options are checked as `tsdaemon run`
// checks them, then copied into ExecStart= as given; the unit's own options are:
//   --name NAME          the unit's name (default: the script's or the command's file name)
//   --description TEXT   Description=
//   --type TYPE          auto (default), notify-reload, notify or exec; auto asks `systemctl --version`:
//                        notify-reload from systemd 253 on, notify before, exec without the native addon
//   --socket             systemd binds the --listen addresses (NAME.socket) and tsdaemon takes them with
//                        --listen=systemd:NAME; --user becomes User=, so tsdaemon never runs as root
//   --watchdog DURATION  WatchdogSec=
//   --output-dir DIR     write NAME.service (and the .socket) into DIR instead of printing them
import { execFileSync } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import { basename, delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TsdaemonError } from '../errors.js';
import { loadNative } from '../os/native.js';
import { BIN_URL } from '../paths.js';
import { findCommand } from './command.js';
import { findConfigPath, readConfigFile } from './config-file.js';
import { buildParser, normalizeRunConfig, type RunConfig, UsageError } from './options.js';
import { renderService, renderSocket, type ServiceType, type UnitPlan } from './unit-file.js';
import { socketPlans } from './unit-socket.js';
import { formatDuration, parseDuration } from './units.js';

/** Type=notify-reload came with systemd 253. */
const FIRST_NOTIFY_RELOAD = 253;
/** TimeoutStopSec= over the drain, TimeoutStartSec= over --ready-timeout. */
const STOP_MARGIN_S = 5;
const START_MARGIN_S = 30;
/** Where systemd looks for programs; a node elsewhere needs Environment=PATH= (bin/tsdaemon is `env node`). */
const SYSTEMD_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
const TYPES = ['auto', 'notify-reload', 'notify', 'exec'] as const;
/** The unit's own options; true when it takes a value. */
const OWN: Record<string, boolean> = {
  name: true,
  description: true,
  type: true,
  socket: false,
  watchdog: true,
  'output-dir': true,
};

export const UNIT_HELP = `tsdaemon unit [unit options] [tsdaemon options] -- <command> [args...]

Print a systemd service unit that runs this exact command line under tsdaemon.

Unit options:
  --name NAME          the unit's name [default: the script's or the command's file name]
  --description TEXT   its Description=
  --type TYPE          auto, notify-reload, notify or exec [default: auto: notify-reload on systemd 253
                       and later (systemctl --version), else notify; exec without the native addon]
  --socket             a NAME.socket unit binds the --listen addresses; tsdaemon takes them with
                       --listen=systemd:NAME and --user becomes User= (tsdaemon never runs as root)
  --watchdog DURATION  WatchdogSec= (tsdaemon pings while some child serves)
  --output-dir DIR     write NAME.service (and NAME.socket) into DIR instead of printing them

Every other option is tsdaemon's own (tsdaemon --help): it is checked, and copied into ExecStart= as given.
TimeoutStopSec= is --lame-duck-delay + --lame-duck + ${STOP_MARGIN_S} s, TimeoutStartSec= --ready-timeout + ${START_MARGIN_S} s.

Example:
  tsdaemon unit --listen=:80 --user=www-data -- node /srv/app/app.js > /etc/systemd/system/app.service
  systemctl daemon-reload && systemctl enable --now app
`;

interface UnitArgs {
  own: Record<string, string | true>;
  runOptions: string[];
  command: string[];
}

function splitUnitArgs(args: string[]): UnitArgs {
  const at = args.indexOf('--');
  if (at < 0)
    throw new UsageError('unit: no command: put it after --, e.g. tsdaemon unit --listen=:80 -- node app.js');
  const own: Record<string, string | true> = {};
  const runOptions: string[] = [];
  const before = args.slice(0, at);
  for (let i = 0; i < before.length; i++) {
    const arg = before[i] as string;
    const [, key = '', value] = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg) ?? [];
    if (!Object.hasOwn(OWN, key)) {
      runOptions.push(arg);
      continue;
    }
    if (!OWN[key]) {
      if (value !== undefined) throw new UsageError(`--${key} takes no value`);
      own[key] = true;
    } else if (value !== undefined) own[key] = value;
    else if (i + 1 < before.length && !(before[i + 1] as string).startsWith('--'))
      own[key] = before[++i] as string;
    else throw new UsageError(`--${key}: no value`);
  }
  return { own, runOptions, command: args.slice(at + 1) };
}

/** The tsdaemon options checked exactly as `tsdaemon run` checks them. */
async function parseRunOptions(runOptions: string[], command: string[], cwd: string): Promise<RunConfig> {
  // The unit gets the flags only: TSDAEMON_* variables of this shell must not change what is checked here.
  const ignored = Object.keys(process.env).filter((key) => key.startsWith('TSDAEMON_'));
  for (const key of ignored) delete process.env[key];
  if (ignored.length > 0)
    process.stderr.write(
      `tsdaemon unit: ignoring ${ignored.join(', ')}: give them as flags to put them in the unit\n`,
    );
  const configPath = findConfigPath(runOptions, {});
  const fileConfig = configPath ? readConfigFile(configPath) : {};
  let failure: string | undefined;
  const parser = (await buildParser(runOptions, fileConfig, {})).fail((message, error) => {
    failure =
      error instanceof UsageError ? error.message : (message ?? error?.message ?? 'invalid arguments');
  });
  const argv = (await parser.parseAsync()) as Record<string, unknown>;
  if (failure !== undefined) throw new UsageError(failure);
  const config = normalizeRunConfig(argv, command, cwd);
  if (config.daemon)
    throw new UsageError(
      '--daemon: a unit runs tsdaemon in the foreground (systemd supervises it); leave it out',
    );
  return config;
}

function systemdVersion(): number | undefined {
  try {
    const out = execFileSync('systemctl', ['--version'], {
      encoding: 'utf8',
      timeout: 5000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const match = /^systemd (\d+)/.exec(out);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

function chooseType(
  requested: string,
  hasAddon: boolean,
  addonError?: string,
): { type: ServiceType; reason: string } {
  if (!(TYPES as readonly string[]).includes(requested))
    throw new UsageError(`--type: '${requested}' is not a type (${TYPES.join(', ')})`);
  if (requested !== 'auto') {
    if (requested !== 'exec' && !hasAddon)
      throw new UsageError(
        `--type=${requested}: tsdaemon cannot send READY=1: ${addonError}; or use --type=exec`,
      );
    return { type: requested as ServiceType, reason: `Type=${requested}, as asked with --type` };
  }
  if (!hasAddon) return { type: 'exec', reason: `Type=exec: tsdaemon cannot notify systemd (${addonError})` };
  const version = systemdVersion();
  if (version === undefined)
    return {
      type: 'notify',
      reason: 'Type=notify: no systemctl answered here (notify-reload needs systemd 253+)',
    };
  if (version >= FIRST_NOTIFY_RELOAD)
    return {
      type: 'notify-reload',
      reason: `systemd ${version}: systemctl reload sends SIGHUP and waits for READY=1 from the new generation`,
    };
  return {
    type: 'notify',
    reason: `systemd ${version} has no Type=notify-reload (253+): ExecReload=tsdaemon reload waits for the new generation`,
  };
}

/** args without the option long/-short and its value (both the --x=V and the --x V forms). */
function dropOption(args: string[], long: string, short?: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === `--${long}` || arg === `-${short}`) i++;
    else if (!arg.startsWith(`--${long}=`) && !(short && arg.startsWith(`-${short}=`))) out.push(arg);
  }
  return out;
}

function defaultName(config: RunConfig): string {
  const script = [...config.args]
    .reverse()
    .find((arg) => /^[^-].*\.(c|m)?[jt]s$|\.py$|\.rb$|\.php$|\.pl$|\.sh$/.test(arg));
  const name = basename(script ?? config.command)
    .replace(/\.[^.]*$/, '')
    .replace(/[^A-Za-z0-9_.-]/g, '_');
  return name || 'app';
}

const shellWord = (word: string) =>
  /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
const seconds = (ms: number) => Math.ceil(ms / 1000);

function buildPlan(args: string[], unit: UnitArgs, config: RunConfig, cwd: string): UnitPlan {
  const own = unit.own;
  const name = String(own.name ?? defaultName(config)).replace(/\.service$/, '');
  if (!/^[A-Za-z0-9_.:-]{1,200}$/.test(name))
    throw new UsageError(`--name: '${name}' is not a unit name (letters, digits, '_', '.', ':', '-')`);
  const { addon, error } = loadNative();
  const { type, reason } = chooseType(String(own.type ?? 'auto'), addon !== undefined, error);
  const bin = fileURLToPath(BIN_URL);
  let commandPath: string;
  try {
    commandPath = findCommand(config.command, process.env.PATH, cwd);
  } catch (failure) {
    if (failure instanceof TsdaemonError) throw new UsageError(`unit: ${failure.message}`);
    throw failure;
  }
  let runOptions = unit.runOptions;
  const plan: Partial<UnitPlan> = {};
  const sockets = own.socket ? socketPlans(name, config.listen) : [];
  if (own.socket) {
    runOptions = dropOption(dropOption(runOptions, 'listen', 'l'), 'user', 'u');
    runOptions.push(...sockets.map((s) => `--listen=systemd:${s.fdName}`));
    if (config.user) [plan.user, plan.group] = config.user.split(':', 2);
    if (!plan.group) delete plan.group;
  }
  if (type !== 'notify-reload') {
    if (config.pidfile) plan.execReload = [bin, 'reload', `--pidfile=${config.pidfile}`];
    else if (config.control) plan.execReload = [bin, 'reload', `--control=${config.control}`];
    else {
      // tsdaemon reload needs a control socket: one in a directory systemd makes for the service.
      const control = `/run/${name}/control.sock`;
      runOptions = [...runOptions, `--control=${control}`];
      plan.execReload = [bin, 'reload', `--control=${control}`];
      plan.runtimeDirectory = name;
    }
  }
  let watchdogSec: number | undefined;
  if (own.watchdog !== undefined) {
    const ms = parseDuration(String(own.watchdog));
    if (ms === undefined || ms < 1000)
      throw new UsageError(`--watchdog: '${own.watchdog}' is not a duration of 1s or more`);
    if (type === 'exec')
      throw new UsageError('--watchdog: needs Type=notify or notify-reload (tsdaemon sends WATCHDOG=1)');
    watchdogSec = seconds(ms);
  }
  const nodeDir = dirname(process.execPath);
  return {
    ...plan,
    name,
    description: String(own.description ?? `${name} (${basename(config.command)}, supervised by tsdaemon)`),
    type,
    typeReason: reason,
    execStart: [bin, ...runOptions, '--', commandPath, ...config.args],
    workingDirectory: cwd,
    ...(SYSTEMD_PATH.includes(nodeDir) ? {} : { path: [nodeDir, ...SYSTEMD_PATH].join(delimiter) }),
    lameDuckText: formatDuration(config.lameDuckMs),
    lameDuckDelayText: formatDuration(config.lameDuckDelayMs),
    readyTimeoutText: formatDuration(config.readyTimeoutMs),
    timeoutStopSec: seconds(config.lameDuckDelayMs + config.lameDuckMs) + STOP_MARGIN_S,
    timeoutStartSec: seconds(config.readyTimeoutMs) + START_MARGIN_S,
    ...(watchdogSec ? { watchdogSec } : {}),
    sockets,
    madeBy: ['tsdaemon', 'unit', ...args].map(shellWord).join(' ').replace(/\n/g, '\\n'),
  };
}

/** Writes path atomically (a temporary file renamed over it), mode 0644 as systemd expects. */
function writeUnit(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode: 0o644 });
  renameSync(temporary, path);
}

/** Runs `tsdaemon unit`; resolves with the exit code. */
export async function runUnitCommand(args: string[], cwd: string): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    const at = args.indexOf('--');
    const help = args.findIndex((a) => a === '--help' || a === '-h');
    if (at < 0 || help < at) {
      process.stdout.write(UNIT_HELP);
      return 0;
    }
  }
  const unit = splitUnitArgs(args);
  const config = await parseRunOptions(unit.runOptions, unit.command, cwd);
  const plan = buildPlan(args, unit, config, cwd);
  const files: [string, string][] = [
    [`${plan.name}.service`, renderService(plan)],
    ...plan.sockets.map((socket): [string, string] => [socket.unit, renderSocket(plan, socket)]),
  ];
  const dir = unit.own['output-dir'];
  if (dir === undefined || dir === true) {
    process.stdout.write(files.map(([, text]) => text).join('\n'));
    return 0;
  }
  for (const [file, text] of files) {
    try {
      writeUnit(join(dir, file), text);
    } catch (error) {
      throw new UsageError(
        `--output-dir: cannot write ${join(dir, file)}: ${(error as NodeJS.ErrnoException).code}`,
      );
    }
    process.stdout.write(`wrote ${join(dir, file)}\n`);
  }
  const enable = plan.sockets.length > 0 ? files.map(([file]) => file).join(' ') : `${plan.name}.service`;
  process.stdout.write(`next: systemctl daemon-reload && systemctl enable --now ${enable}\n`);
  return 0;
}
