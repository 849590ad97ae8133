// tsdaemon's entry: parse, check, bind, supervise, exit — each step in order, stopping at the first
// failure with one clear line and a documented exit code (docs/errors.md). The only module that reads
// process.argv and process.env.
import { closeSync, constants, lchownSync, openSync } from 'node:fs';
import { ENV_LISTEN_FDNAMES, ENV_LISTEN_FDS, ENV_LISTEN_PID } from '../child-protocol.js';
import { type ControlServer, startControlServer } from '../control/server.js';
import { controlPathFor } from '../control/wire.js';
import { errnoOf, exitCodeOf, TsdaemonError } from '../errors.js';
import { keepListening } from '../listen/keep-listening.js';
import { type Listener, openListeners, type SystemdSockets } from '../listen/listeners.js';
import { collectGarbage } from '../os/garbage.js';
import { isJournalStream } from '../os/log/journal.js';
import { createLogger, type Logger } from '../os/log/logger.js';
import { loadNative } from '../os/native.js';
import { adoptPidfile, checkPidfile, type Pidfile, writePidfile } from '../os/pidfile.js';
import { findUser } from '../os/privilege/accounts.js';
import {
  checkCanDrop,
  dropPrivileges,
  type Identity,
  needsDrop,
  resolveIdentity,
} from '../os/privilege/privileges.js';
import { startDeathWatch, stopDeathWatch } from '../os/process/death-watch.js';
import { type Reaper, startReaper } from '../os/process/reaper.js';
import { describeWaitStatus } from '../os/process/signal-names.js';
import { installSignalHandlers, uninstallSignalHandlers } from '../os/process/signals.js';
import { createNotifier, startWatchdog, supervisorNotify } from '../os/sd-notify.js';
import { planBindShim, withBindShim } from '../os/sockets/bind-shim.js';
import { runSupervisor, type Supervisor } from '../supervise/run.js';
import { checkChildStart, childBaseEnv } from './child-start.js';
import { findCommand } from './command.js';
import { daemonize } from './daemonize.js';
import { doctorReport } from './doctor.js';
import { type RunConfig, UsageError } from './options.js';
import { parseRunConfig } from './run-config.js';
import { reportToStarter, STARTER_MARKER } from './start-copy.js';
import { runUnitCommand } from './unit.js';
import { createUpgrade } from './upgrade.js';
import { usageExit } from './usage-exit.js';

/** systemd socket activation: LISTEN_FDS counts only when LISTEN_PID names us. */
function takeSystemdSockets(env: NodeJS.ProcessEnv): SystemdSockets | undefined {
  const pid = Number(env[ENV_LISTEN_PID]);
  const count = Number(env[ENV_LISTEN_FDS]);
  // Positions matter: "a::c" names fds 3 and 5 and leaves fd 4 unnamed.
  const names = (env[ENV_LISTEN_FDNAMES] ?? '').split(':');
  for (const name of [ENV_LISTEN_PID, ENV_LISTEN_FDS, ENV_LISTEN_FDNAMES]) delete env[name];
  if (pid !== process.pid || !Number.isInteger(count) || count <= 0) return undefined;
  return { count, names };
}

/** USER, LOGNAME and HOME of the user the children run as, as systemd's User= sets them. */
function environmentFor(identity: Identity, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { HOME: _rootHome, ...rest } = env;
  // A uid with no passwd entry has no home: root's must not leak to it.
  const home = identity.known ? findUser(identity.name)?.home : undefined;
  return { ...rest, USER: identity.name, LOGNAME: identity.name, ...(home ? { HOME: home } : {}) };
}

// The start-up, in this order, each step only once the one before worked: check everything that can be
// checked without side effects; bind; write the pidfile and drop privileges; supervise. Whatever was made
// is undone on the way out (sockets closed, unix socket files and the pidfile removed or emptied).
async function supervise(
  config: RunConfig,
  env: NodeJS.ProcessEnv,
  logger: Logger,
  phase: { name: string },
  hooks: { onFirstReady: (pid: number) => void; lastFailure?: string },
  start: { args: string[]; upgrading: boolean },
): Promise<number> {
  const commandPath = findCommand(
    config.command,
    childBaseEnv(env, config).PATH,
    config.chdir ?? process.cwd(),
  );
  const identity = config.user === undefined ? undefined : resolveIdentity(config.user);
  const bindShim =
    config.bindShim && config.listen.length > 0 ? planBindShim({ commandPath, pathVariable: env.PATH }) : {};
  if (identity) checkCanDrop(identity);
  // A successor (SIGUSR2) leaves the pidfile to its predecessor, which writes the new pid into it.
  if (config.pidfile && !start.upgrading) checkPidfile(config.pidfile);
  let listeners: Listener[] = [];
  let pidfile: Pidfile | undefined;
  let control: ControlServer | undefined;
  let reaper: Reaper | undefined;
  let stopKeepListening = () => {};
  let supervisor: Supervisor | undefined;
  const notifier = createNotifier(env, (message) => logger.log('warn', message));
  const upgrade = createUpgrade({
    args: start.args,
    env,
    logger,
    notifier,
    timeoutMs: config.readyTimeoutMs + 30_000,
    listeners: () => listeners,
    handOverPidfile: (pid) => pidfile?.handOver(pid),
    stop: () => supervisor?.stop(),
  });
  try {
    listeners = await openListeners(config.listen, takeSystemdSockets(env));
    for (const [i, listener] of listeners.entries()) {
      logger.log('info', `listening ${listener.description}`, { name: listener.name, fd: 3 + i });
    }
    if (bindShim.message) logger.log(bindShim.level ?? 'info', bindShim.message);
    const controlPath = config.control ?? (config.pidfile ? controlPathFor(config.pidfile) : undefined);
    if (controlPath) control = await startControlServer(controlPath, () => supervisor, start.upgrading);
    // Written while still root, so a root-owned /run works; the dropped user cannot change it afterwards.
    if (config.pidfile) {
      pidfile = start.upgrading
        ? adoptPidfile(config.pidfile, process.pid)
        : writePidfile(config.pidfile, process.pid);
    }
    const childUser = identity && needsDrop(identity) ? identity.name : undefined;
    if (identity && needsDrop(identity)) {
      // The log file stays the user's to reopen on SIGHUP.
      // lchown: a symlink put in its place since is changed itself, never what it points to.
      if (config.logFile) lchownSync(config.logFile, identity.uid, identity.gid);
      dropPrivileges(identity);
      logger.log('info', `running as ${identity.name}:${identity.groupName}`, {
        uid: identity.uid,
        gid: identity.gid,
      });
    } else if (process.getuid?.() === 0) {
      logger.log('warn', 'the children run as root; add --user=NAME to drop privileges after binding');
    }
    // As the children's user now: their working directory and command (a drop can take access away).
    const baseEnv = childBaseEnv(identity ? environmentFor(identity, env) : env, config);
    checkChildStart(config, baseEnv, childUser);
    const { addon } = loadNative();
    if (addon) stopKeepListening = keepListening(addon, listeners, logger);
    if (process.pid === 1) reaper = startPid1Reaper(logger);
    // As PID 1 the container ends with tsdaemon, and every process in it: no watcher needed.
    else if (!startDeathWatch(config.stopSignal, config.lameDuckMs))
      logger.log('warn', 'no /bin/sh: the children would outlive a SIGKILLed tsdaemon');
    supervisor = runSupervisor({
      config,
      listeners,
      logger,
      baseEnv: withBindShim(baseEnv, bindShim),
      showState: (state) => {
        phase.name = state;
      },
      notify: supervisorNotify(notifier, () => upgrade.handedOver),
      onFirstReady: hooks.onFirstReady,
      onUpgrade: () => void upgrade.start(),
      onCloseListeners: () => {
        // The final stop: without our copies, each socket goes away once the last child closed its own,
        // and new connections are refused (as with a plain server) instead of being queued for nobody.
        // A SIGUSR2 successor holds its own copies, so they stay open for it.
        stopKeepListening();
        stopKeepListening = () => {};
        for (const listener of listeners) listener.release();
        logger.log('debug', "closed tsdaemon's copies of the listening sockets");
      },
    });
    const stopWatchdog = startWatchdog(notifier, () =>
      Boolean(supervisor?.status().generations.some((g) => g.status === 'serving')),
    );
    const code = await supervisor.done;
    stopWatchdog();
    const { lastFailure } = supervisor.status();
    if (lastFailure !== undefined) hooks.lastFailure = lastFailure;
    return code;
  } finally {
    stopKeepListening();
    stopDeathWatch();
    reaper?.stop();
    notifier.close();
    control?.close(upgrade.handedOver);
    // After a hand-over the successor serves on these sockets: unix socket files stay where they are.
    if (!upgrade.handedOver) for (const listener of listeners) listener.close();
    pidfile?.release();
  }
}

/** As PID 1, every orphan in the container becomes our child: reap those zombies (tini's job). */
function startPid1Reaper(logger: Logger): Reaper | undefined {
  const { addon, error } = loadNative();
  if (!addon) {
    logger.log(
      'warn',
      `running as PID 1 but ${error}: orphaned zombies are not reaped; put an init in front (docker run --init, tini)`,
    );
    return undefined;
  }
  logger.log('debug', 'running as PID 1: reaping orphaned zombies');
  return startReaper(addon, (pid, status) =>
    logger.log('debug', `reaped orphan pid ${pid} (${describeWaitStatus(status)})`, { pid }),
  );
}

/** Open the log file once before winston does: a bad path is a usage error, not a crash or a hang. */
function checkLogFile(path: string): void {
  try {
    const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW } = constants;
    closeSync(openSync(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o640));
  } catch (error) {
    usageExit(`--log-file: cannot open '${path}' for appending: ${errnoOf(error) ?? String(error)}`);
  }
}

/**
 * tsdaemon run (the default), unit and doctor; src/main.ts runs the control commands itself.
 * saveCodeCache writes the bundle's code cache (src/os/compiled-script.ts) if there was none: after the
 * parse, before the privilege drop.
 */
export async function main(args: string[], { saveCodeCache = () => {} } = {}): Promise<never> {
  if (args[0] === 'unit') {
    uninstallSignalHandlers();
    const code = await runUnitCommand(args.slice(1), process.cwd()).catch((error) => {
      if (error instanceof UsageError) usageExit(error.message);
      throw error;
    });
    process.exit(code);
  }
  if (args[0] === 'doctor') {
    uninstallSignalHandlers();
    if (args.length > 1) usageExit(`doctor: takes no arguments (given: ${args.slice(1).join(' ')})`);
    process.stdout.write(doctorReport(process.env));
    process.exit(0);
  }
  installSignalHandlers();
  const env = { ...process.env };
  let config: RunConfig;
  let warnings: string[];
  try {
    const parsed = await parseRunConfig(args, env);
    if ('help' in parsed) {
      process.stdout.write(parsed.help);
      process.exit(0);
    }
    ({ config, warnings } = parsed);
    // Still as the user that started tsdaemon, who may write next to the bundle (root, usually).
    saveCodeCache();
  } catch (error) {
    if (error instanceof UsageError) usageExit(error.message);
    throw error;
  }
  if (config.logFile) checkLogFile(config.logFile);
  const startedBy = env[STARTER_MARKER];
  delete env[STARTER_MARKER];
  if (config.daemon && startedBy === undefined) {
    if (config.listen.some((spec) => spec.kind === 'systemd')) {
      usageExit(
        '--daemon cannot take systemd sockets (systemd hands them to the pid it started); run it in the foreground (Type=exec) instead',
      );
    }
    uninstallSignalHandlers();
    const inherited = config.listen.flatMap((spec) => (spec.kind === 'fd' ? [spec.fd] : []));
    process.exit(await daemonize(args, config.logFile, inherited));
  }
  const phase = { name: 'starting' };
  const logger = createLogger({
    level: config.logLevel,
    format: config.logFormat,
    ...(config.logFile ? { file: config.logFile } : {}),
    state: () => phase.name,
    journal: isJournalStream(env),
  });
  for (const warning of warnings) logger.log('warn', warning);
  let code: number;
  let reported = false;
  let failure: string | undefined;
  const hooks: { onFirstReady: (pid: number) => void; lastFailure?: string } = {
    onFirstReady: (pid) => {
      reported = true;
      collectGarbage();
      // The starter (--daemon's foreground, an upgrading predecessor) returns on this: the log file must
      // already say that the generation is ready.
      void logger.flushed().then(() => reportToStarter({ ready: true, pid }));
    },
  };
  try {
    code = await supervise(config, env, logger, phase, hooks, { args, upgrading: startedBy === 'upgrade' });
    failure = hooks.lastFailure;
  } catch (error) {
    code = exitCodeOf(error);
    failure = error instanceof Error ? error.message : String(error);
    if (error instanceof TsdaemonError)
      logger.log('error', error.message, { code: error.code, exitCode: code });
    else {
      logger.log('error', `internal error: ${(error as Error)?.stack ?? String(error)}`, {
        errno: errnoOf(error),
        exitCode: code,
      });
    }
  }
  if (!reported) {
    reportToStarter({
      error: failure ?? `exited with code ${code} before the first child was ready`,
      exitCode: code,
    });
  }
  await logger.close();
  process.exit(code);
}
