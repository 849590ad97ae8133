// tsdaemon's log: winston, to stderr (so it never mixes with the child's stdout) and optionally a file.
// One line per event with time, level, pid and the supervisor's state:
//   2026-11-25T19:04:17.123Z info  [4310 running] running -> restarting (SIGHUP) generation=3
// JSON: {"time":"...","level":"info","pid":4310,"state":"running","msg":"...","generation":3}
// Colour only when stderr is a terminal. close() waits until the file has every line (winston's File
// transport loses lines on process.exit otherwise).
import { closeSync, constants, fstatSync, openSync, statSync } from 'node:fs';
import winston from 'winston';
import type { LogFormat, LogLevel } from '../cli/options.js';

export type Fields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  log(level: LogLevel, message: string, fields?: Fields): void;
  isEnabled(level: LogLevel): boolean;
  /** Reopen the log file (after logrotate moved it). */
  reopen(): void;
  close(): Promise<void>;
}

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  file?: string;
  /** The supervisor's current state, printed on every line. */
  state: () => string;
  stderr?: NodeJS.WriteStream;
}

const STATE = Symbol.for('tsdaemon.state');

function fieldText(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => {
      const text = String(value);
      return /^[^\s"=]+$/.test(text) ? `${key}=${text}` : `${key}=${JSON.stringify(text)}`;
    })
    .join(' ');
}

function lineFormat(kind: LogFormat, colour: boolean): winston.Logform.Format {
  const { combine, printf, colorize } = winston.format;
  if (kind === 'json') {
    return printf((info) => {
      const {
        level,
        message,
        timestamp: time,
        [STATE]: state,
        ...rest
      } = info as Record<string | symbol, unknown>;
      const plain = Object.fromEntries(Object.entries(rest).filter(([key]) => typeof key === 'string'));
      // The supervisor's pid is "pid"; a child's pid among the fields becomes "childPid".
      const { pid: childPid, ...others } = plain;
      const child = childPid === undefined ? {} : { childPid };
      return JSON.stringify({ time, level, pid: process.pid, state, msg: message, ...child, ...others });
    });
  }
  const parts: winston.Logform.Format[] = [];
  if (colour) parts.push(colorize({ level: true }));
  parts.push(
    printf((info) => {
      const {
        level,
        message,
        timestamp: time,
        [STATE]: state,
        ...rest
      } = info as Record<string | symbol, unknown>;
      const plain = Object.fromEntries(Object.entries(rest).filter(([key]) => typeof key === 'string'));
      const extra = fieldText(plain);
      const padded = String(level).padEnd(colour ? 17 : 7);
      return `${time} ${padded} [${process.pid} ${state}] ${message}${extra ? ` ${extra}` : ''}`;
    }),
  );
  return combine(...parts);
}

function sameFile(fd: number, path: string): boolean {
  try {
    const a = fstatSync(fd);
    const b = statSync(path);
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}

export function createLogger(options: LoggerOptions): Logger {
  const stderr = options.stderr ?? process.stderr;
  const console = new winston.transports.Stream({
    stream: stderr,
    format: lineFormat(options.format, options.format === 'text' && stderr.isTTY === true),
  });
  const makeFile = (filename: string) => {
    const transport = new winston.transports.File({ filename, format: lineFormat(options.format, false) });
    // A full disk or a vanished directory must not take the supervisor down: say so on stderr, go on.
    transport.on('error', (error: Error) =>
      stderr.write(`tsdaemon: log file ${filename}: ${error.message}\n`),
    );
    return transport;
  };
  // A closed stderr (a pipe to `head`, a gone terminal) must not take the supervisor down with EPIPE.
  console.on('error', () => {});
  stderr.on('error', () => {});
  let file = options.file ? makeFile(options.file) : undefined;
  // stderr may be that very file (--daemon, a SIGUSR2 successor of one, or 2>>file): write each line once.
  const noStderr = options.file !== undefined && sameFile(2, options.file);
  const logger = winston.createLogger({
    level: options.level,
    levels: winston.config.npm.levels,
    // One timestamp per entry, shared by every transport.
    format: winston.format.timestamp(),
    // A daemon's stderr is the log file already: writing both would double every line.
    transports: [...(noStderr && file ? [] : [console]), ...(file ? [file] : [])],
    exitOnError: false,
  });
  // winston re-emits a transport's error on the logger; without a listener that would end the process.
  logger.on('error', () => {});
  return {
    log(level, message, fields = {}) {
      logger.log({ level, message, [STATE]: options.state(), ...fields } as winston.LogEntry);
    },
    isEnabled: (level) => logger.isLevelEnabled(level),
    reopen() {
      if (!file || !options.file) return;
      let next: ReturnType<typeof makeFile>;
      try {
        // Created with the same restrictive mode as at start-up, before winston opens it; never through a
        // symlink someone put in place of the moved file.
        const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW } = constants;
        closeSync(openSync(options.file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o640));
        next = makeFile(options.file);
      } catch (error) {
        // Keep writing to the old file rather than stop logging or crash.
        stderr.write(`tsdaemon: cannot reopen log file ${options.file}: ${(error as Error).message}\n`);
        return;
      }
      const old = file;
      file = next;
      logger.add(next);
      logger.remove(old);
      old.close?.();
    },
    close() {
      return new Promise((resolve) => {
        const timer = setTimeout(resolve, 2000);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        if (file) file.once('finish', done);
        else logger.once('finish', done);
        logger.end();
      });
    },
  };
}
