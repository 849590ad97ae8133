// tsdaemon's log: winston, to stderr (so it never mixes with the child's stdout) and optionally a file.
// One line per event with time, level, pid and the supervisor's state:
//   2026-11-25T19:04:17.123Z info  [4310 running] running -> restarting (SIGHUP) generation=3
// JSON: {"time":"...","level":"info","pid":4310,"state":"running","msg":"...","generation":3}
// Colour only when stderr is a terminal. close() waits until the file has every line.
//
// The file is tsdaemon's own write stream behind winston's Stream transport, not winston's File transport,
// which drops write errors silently (a full disk would lose lines without a word). Here a write error is
// said once on stderr, the file is left alone, and tried again every RETRY_MS (and on SIGHUP); lines go to
// stderr meanwhile. A file that was deleted or replaced (a logrotate without SIGHUP) is reopened at the
// next check. backpressure() lets the child-output reader stop reading while the file is behind, so a child
// that writes gigabytes is slowed down instead of filling tsdaemon's memory.
import { constants, createWriteStream, fstatSync, openSync, statSync, type WriteStream } from 'node:fs';
import winston from 'winston';
import type { LogFormat, LogLevel } from '../cli/options.js';

export type Fields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  log(level: LogLevel, message: string, fields?: Fields): void;
  isEnabled(level: LogLevel): boolean;
  /** Reopen the log file (after logrotate moved it). */
  reopen(): void;
  /** Resolves once the log file has every line so far (at most maxMs later). */
  flushed(maxMs?: number): Promise<void>;
  /** While the log file is behind: a promise for when it has caught up. Otherwise undefined. */
  backpressure(): Promise<void> | undefined;
  close(): Promise<void>;
}

/** How often a failed, deleted or replaced log file is tried again. */
const RETRY_MS = 5000;

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
  // A closed stderr (a pipe to `head`, a gone terminal) must not take the supervisor down with EPIPE.
  console.on('error', () => {});
  stderr.on('error', () => {});
  // stderr may be that very file (--daemon, a SIGUSR2 successor of one, or 2>>file): write each line once.
  const noStderr = options.file !== undefined && sameFile(2, options.file);
  const logger = winston.createLogger({
    level: options.level,
    levels: winston.config.npm.levels,
    // One timestamp per entry, shared by every transport.
    format: winston.format.timestamp(),
    transports: noStderr ? [] : [console],
    exitOnError: false,
  });
  // winston re-emits a transport's error on the logger; without a listener that would end the process.
  logger.on('error', () => {});

  interface OpenFile {
    stream: WriteStream;
    transport: winston.transport;
    ino?: number;
  }
  let file: OpenFile | undefined;
  let failing = false; // a write error was reported and the file is not written now
  let closing = false;
  const path = options.file;

  const detach = (open: OpenFile) => {
    logger.remove(open.transport);
    if (noStderr && !logger.transports.includes(console)) logger.add(console);
  };
  const attach = (open: OpenFile) => {
    if (noStderr) logger.remove(console);
    logger.add(open.transport);
  };
  const open = (): OpenFile => {
    // Created with the same restrictive mode as at start-up; the fd is opened here, synchronously, so a
    // bad path is an error now and not a silent one later; never through a symlink put in place of the file.
    const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW } = constants;
    const fd = openSync(path as string, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o640);
    const stream = createWriteStream(path as string, { fd, flags: 'a' });
    const opened: OpenFile = {
      stream,
      transport: new winston.transports.Stream({ stream, format: lineFormat(options.format, false) }),
      ino: fstatSync(fd).ino,
    };
    opened.transport.on('error', () => {});
    stream.on('error', (error: Error) => {
      if (file !== opened) return;
      detach(opened);
      file = undefined;
      if (!failing && !closing) {
        failing = true;
        stderr.write(
          `tsdaemon: log file ${path}: ${error.message}; its lines go to stderr only until it can be written again (retried every ${RETRY_MS / 1000} s and on SIGHUP)\n`,
        );
      }
    });
    return opened;
  };
  // Reopen the file. A write error is over only once the new file took bytes (seen at the next check).
  const replace = (why?: string): void => {
    let next: OpenFile;
    try {
      next = open();
    } catch (error) {
      if (!failing) stderr.write(`tsdaemon: cannot reopen log file ${path}: ${(error as Error).message}\n`);
      failing = true;
      return;
    }
    const old = file;
    file = next;
    attach(next);
    if (old) {
      detach(old);
      old.stream.end();
    }
    if (why) stderr.write(`tsdaemon: log file ${path}: ${why}\n`);
  };
  let check: NodeJS.Timeout | undefined;
  if (path) {
    file = open();
    attach(file);
    // Retry a failed file; reopen a deleted or replaced one (its lines would go nowhere anyone looks).
    check = setInterval(() => {
      if (closing) return;
      if (!file) {
        replace();
        return;
      }
      if (failing && file.stream.bytesWritten > 0) {
        failing = false;
        stderr.write(`tsdaemon: log file ${path}: writing again\n`);
      }
      let ino: number | undefined;
      try {
        ino = statSync(path).ino;
      } catch {}
      if (ino !== file.ino)
        replace(ino === undefined ? 'it was deleted: created again' : 'it was replaced: reopened');
    }, RETRY_MS).unref();
  }
  return {
    log(level, message, fields = {}) {
      logger.log({ level, message, [STATE]: options.state(), ...fields } as winston.LogEntry);
    },
    isEnabled: (level) => logger.isLevelEnabled(level),
    reopen() {
      if (path) replace();
    },
    async flushed(maxMs = 1000) {
      const deadline = Date.now() + maxMs;
      const behind = () => {
        const stream = file?.stream;
        return stream !== undefined && (stream.pending || stream.writableLength > 0);
      };
      while (behind() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    },
    backpressure() {
      const stream = file?.stream;
      if (!stream?.writableNeedDrain) return undefined;
      return new Promise((resolve) => {
        const done = () => {
          stream.off('drain', done);
          stream.off('close', done);
          resolve();
        };
        stream.on('drain', done);
        stream.on('close', done);
      });
    },
    close() {
      closing = true;
      if (check) clearInterval(check);
      return new Promise((resolve) => {
        const timer = setTimeout(resolve, 2000);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        const stream = file?.stream;
        // Every entry is in the transports once the logger has finished; then the file gets its end.
        logger.once('finish', () => {
          if (!stream) return done();
          stream.once('close', done);
          stream.end();
        });
        logger.end();
      });
    },
  };
}
