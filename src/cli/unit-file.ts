// The text of the systemd units that `tsdaemon unit` prints (src/cli/unit.ts decides what goes in them).
// Pure: a UnitPlan in, unit files out. Every line that is not obvious carries a comment saying why, so
// the unit reads like the ones in docs/operations.md.

export type ServiceType = 'notify-reload' | 'notify' | 'exec';

export interface SocketPlan {
  /** The .socket unit's name, e.g. app.socket. */
  unit: string;
  /** FileDescriptorName=: what --listen=systemd:NAME takes and the app sees in LISTEN_FDNAMES. */
  fdName: string;
  /** [Socket] lines: ListenStream=…, Backlog=…, SocketMode=… */
  lines: string[];
}

export interface UnitPlan {
  name: string;
  description: string;
  type: ServiceType;
  /** Why this type: one comment line. */
  typeReason: string;
  execStart: string[];
  execReload?: string[];
  workingDirectory: string;
  user?: string;
  group?: string;
  /** Environment=PATH=…, when node is not on systemd's default PATH. */
  path?: string;
  /** RuntimeDirectory= for a control socket tsdaemon unit added. */
  runtimeDirectory?: string;
  lameDuckText: string;
  lameDuckDelayText: string;
  readyTimeoutText: string;
  timeoutStopSec: number;
  timeoutStartSec: number;
  watchdogSec?: number;
  sockets: SocketPlan[];
  /** The `tsdaemon unit …` command line, for the header. */
  madeBy: string;
}

/** Exit codes a restart cannot fix: usage (64), --user (66), pidfile (67); see docs/errors.md. */
const RESTART_PREVENT_EXIT_STATUS = '64 66 67';

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * One word of ExecStart=, as systemd reads it back: '%' starts a specifier and '$' a variable, so both are
 * doubled; a word with anything else than plain characters goes in double quotes with C escapes.
 */
export function quoteExecWord(word: string): string {
  const literal = word.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (SAFE_WORD.test(literal)) return literal;
  const escaped = literal.replace(/[\\"\n\t\r]/g, (c) =>
    c === '\n' ? '\\n' : c === '\t' ? '\\t' : c === '\r' ? '\\r' : `\\${c}`,
  );
  return `"${escaped}"`;
}

const execLine = (key: string, words: string[]) => `${key}=${words.map(quoteExecWord).join(' ')}`;

export function renderService(plan: UnitPlan): string {
  const sockets = plan.sockets.map((s) => s.unit).join(' ');
  const lines = [
    `# ${plan.name}.service, made by: ${plan.madeBy}`,
    '[Unit]',
    `Description=${plan.description}`,
    sockets ? `Requires=${sockets}` : undefined,
    `After=network.target${sockets ? ` ${sockets}` : ''}`,
    '',
    '[Service]',
    `# ${plan.typeReason}`,
    `Type=${plan.type}`,
    plan.type === 'notify-reload' ? 'ReloadSignal=SIGHUP' : undefined,
    execLine('ExecStart', plan.execStart),
    plan.execReload ? execLine('ExecReload', plan.execReload) : undefined,
    `WorkingDirectory=${plan.workingDirectory}`,
    plan.user ? `User=${plan.user}` : undefined,
    plan.group ? `Group=${plan.group}` : undefined,
    plan.path ? `Environment=PATH=${plan.path}` : undefined,
    plan.runtimeDirectory ? `# for the control socket of ExecReload=` : undefined,
    plan.runtimeDirectory ? `RuntimeDirectory=${plan.runtimeDirectory}` : undefined,
    '# SIGTERM to tsdaemon only: it drains the app itself. SIGKILL for everything left after TimeoutStopSec.',
    'KillMode=mixed',
    `# above --lame-duck-delay (${plan.lameDuckDelayText}) + --lame-duck (${plan.lameDuckText}), with a margin`,
    `TimeoutStopSec=${plan.timeoutStopSec}`,
    `# above --ready-timeout (${plan.readyTimeoutText}): how long systemd waits for a start or a reload`,
    `TimeoutStartSec=${plan.timeoutStartSec}`,
    plan.watchdogSec ? '# tsdaemon sends WATCHDOG=1 while some child serves' : undefined,
    plan.watchdogSec ? `WatchdogSec=${plan.watchdogSec}` : undefined,
    'Restart=on-failure',
    '# usage, --user and pidfile errors: a restart does not fix them',
    `RestartPreventExitStatus=${RESTART_PREVENT_EXIT_STATUS}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  ];
  return `${lines.filter((line) => line !== undefined).join('\n')}\n`;
}

export function renderSocket(plan: UnitPlan, socket: SocketPlan): string {
  const service = `${plan.name}.service`;
  const lines = [
    `# ${socket.unit}, made by: ${plan.madeBy}`,
    '[Unit]',
    `Description=${plan.name}'s listen socket (held by systemd, served by ${service})`,
    '',
    '[Socket]',
    ...socket.lines,
    `# tsdaemon --listen=systemd:${socket.fdName} takes it by this name`,
    `FileDescriptorName=${socket.fdName}`,
    socket.unit === `${plan.name}.socket` ? undefined : `Service=${service}`,
    '',
    '[Install]',
    'WantedBy=sockets.target',
  ];
  return `${lines.filter((line) => line !== undefined).join('\n')}\n`;
}
