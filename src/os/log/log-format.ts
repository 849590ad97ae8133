// How one log entry becomes one line: text or JSON, with colour only on a terminal, and the journal form
// (no timestamp of our own, an sd-daemon priority prefix) when stderr is systemd's journal.
//   text:     2026-11-25T19:04:17.123Z info  [4310 running] running -> restarting (SIGHUP) generation=3
//   journal:  <6>info    [4310 running] running -> restarting (SIGHUP) generation=3
//   json:     {"time":"...","level":"info","pid":4310,"state":"running","msg":"...","generation":3}
import winston from 'winston';
import type { LogFormat, LogLevel } from './levels.js';

export const STATE = Symbol.for('tsdaemon.state');

/**
 * sd-daemon(3) priorities: journald reads a "<N>" at the start of a line as its syslog priority, so that
 * `journalctl -p warning` shows warnings and errors only.
 */
export const JOURNAL_PRIORITY: Record<LogLevel, number> = {
  error: 3,
  warn: 4,
  info: 6,
  verbose: 7,
  debug: 7,
};

/** A child's own "<N>" prefix on a captured line (the same protocol, spoken by the child). */
const CHILD_PRIORITY = /^<([0-7])>/;

export interface LineOptions {
  format: LogFormat;
  colour: boolean;
  /** stderr is the journal: priority prefixes instead of our own timestamp. */
  journal: boolean;
}

function fieldText(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => {
      const text = String(value);
      return /^[^\s"=]+$/.test(text) ? `${key}=${text}` : `${key}=${JSON.stringify(text)}`;
    })
    .join(' ');
}

/** The parts of an entry: its level, message, time, state, and the plain (string-keyed) fields. */
function partsOf(info: winston.Logform.TransformableInfo) {
  const { level, message, timestamp, [STATE]: state, ...rest } = info as Record<string | symbol, unknown>;
  const fields = Object.fromEntries(Object.entries(rest).filter(([key]) => typeof key === 'string'));
  return { level: String(level), message: String(message), time: timestamp, state, fields };
}

/**
 * In the journal, a child's captured line that starts with its own "<N>" keeps that priority (and loses
 * the prefix, as journald would take it off); every other line gets its level's.
 */
function journalPrefix(level: string, message: string, fields: Record<string, unknown>) {
  const own = fields.child === undefined ? null : CHILD_PRIORITY.exec(message);
  if (own) return { prefix: `<${own[1]}>`, message: message.slice(3) };
  return { prefix: `<${JOURNAL_PRIORITY[level as LogLevel] ?? 6}>`, message };
}

export function lineFormat({ format, colour, journal }: LineOptions): winston.Logform.Format {
  const { combine, printf, colorize } = winston.format;
  if (format === 'json') {
    return printf((info) => {
      const { level, message, time, state, fields } = partsOf(info);
      const { prefix, message: msg } = journal
        ? journalPrefix(level, message, fields)
        : { prefix: '', message };
      // The supervisor's pid is "pid"; a child's pid among the fields becomes "childPid".
      const { pid: childPid, ...others } = fields;
      const child = childPid === undefined ? {} : { childPid };
      return `${prefix}${JSON.stringify({ time, level, pid: process.pid, state, msg, ...child, ...others })}`;
    });
  }
  const parts: winston.Logform.Format[] = [];
  // Never in the journal: it is no terminal.
  if (colour) parts.push(colorize({ level: true }));
  parts.push(
    printf((info) => {
      const { level, message, time, state, fields } = partsOf(info);
      const extra = fieldText(fields);
      const line = (msg: string) =>
        `${level.padEnd(colour ? 17 : 7)} [${process.pid} ${state}] ${msg}${extra ? ` ${extra}` : ''}`;
      if (!journal) return `${time} ${line(message)}`;
      const { prefix, message: msg } = journalPrefix(level, message, fields);
      return `${prefix}${line(msg)}`;
    }),
  );
  return combine(...parts);
}
