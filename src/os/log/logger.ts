// tsdaemon's log: winston, to stderr (so it never mixes with the child's stdout) and optionally a file.
// One line per event with time, level, pid and the supervisor's state (src/os/log/log-format.ts); in the
// journal without our timestamp and with a priority prefix. close() waits until the file has every line.
//
// The file is tsdaemon's own write stream behind winston's Stream transport, not winston's File transport,
// which drops write errors silently (a full disk would lose lines without a word). Here a write error is
// said once on stderr, the file is left alone, and tried again every RETRY_MS (and on SIGHUP); lines go to
// stderr meanwhile. A file moved away or deleted without a SIGHUP (logrotate without postrotate) is noticed
// within CHECK_MS by its device and inode, and the log goes on in a new file at the path. backpressure()
// lets the child-output reader stop reading while the file is behind, so a child that writes gigabytes is
// slowed down instead of filling tsdaemon's memory.
//
// Every transport has its own level: winston lets a transport without one log everything once it was
// removed from a logger and added again (its parent is gone), which showed debug lines after a SIGHUP.
import { constants, createWriteStream, fstatSync, openSync, statSync, type WriteStream } from 'node:fs';
import winston from 'winston';
import type { LogFormat, LogLevel } from './levels.js';
import { JOURNAL_PRIORITY, lineFormat, STATE } from './log-format.js';

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

/** How often a failed log file is tried again. */
const RETRY_MS = 5000;
/** How often the path is compared with the open file (moved, deleted, replaced). */
const CHECK_MS = 1000;

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  file?: string;
  /** The supervisor's current state, printed on every line. */
  state: () => string;
  stderr?: NodeJS.WriteStream;
  /** stderr is systemd's journal (src/os/log/journal.ts). */
  journal?: boolean;
}

/** Is fd the file at path (same device and inode)? */
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
  const journal = options.journal === true;
  // stderr may be that very file (--daemon, a SIGUSR2 successor of one, or 2>>file): then stderr gets
  // lines only while the file cannot be written, so that each line is written once.
  const path = options.file;
  const noStderr = path !== undefined && sameFile(2, path);
  let file: OpenFile | undefined;
  const muted = winston.format((info) => (noStderr && file !== undefined ? false : info));
  const format = lineFormat({
    format: options.format,
    colour: options.format === 'text' && stderr.isTTY === true && !journal,
    journal,
  });
  const console = new winston.transports.Stream({
    stream: stderr,
    level: options.level,
    format: winston.format.combine(muted(), format),
  });
  // A closed stderr (a pipe to `head`, a gone terminal) must not take the supervisor down with EPIPE.
  console.on('error', () => {});
  stderr.on('error', () => {});
  const logger = winston.createLogger({
    level: options.level,
    levels: winston.config.npm.levels,
    // One timestamp per entry, shared by every transport.
    format: winston.format.timestamp(),
    transports: [console],
    exitOnError: false,
  });
  // winston re-emits a transport's error on the logger; without a listener that would end the process.
  logger.on('error', () => {});
  const log = (level: LogLevel, message: string, fields: Fields = {}) =>
    logger.log({ level, message, [STATE]: options.state(), ...fields } as winston.LogEntry);
  /** A line about the log file itself, on stderr only (the file is what failed). */
  const note = (level: LogLevel, text: string) =>
    stderr.write(`${journal ? `<${JOURNAL_PRIORITY[level]}>` : ''}tsdaemon: ${text}\n`);

  interface OpenFile {
    stream: WriteStream;
    transport: winston.transport;
    fd: number;
    dev: number;
    ino: number;
    /** Opened while a problem was reported: its first bytes written end that problem. */
    recovering: boolean;
  }
  let failing = false; // a write error was reported and the file is not written now
  let closing = false;
  let lastTry = 0;

  const detach = (open: OpenFile) => {
    if (file === open) file = undefined;
    logger.remove(open.transport);
  };
  const open = (): OpenFile => {
    // Created with the same restrictive mode as at start-up; the fd is opened here, synchronously, so a
    // bad path is an error now and not a silent one later; never through a symlink put in place of the file.
    const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW } = constants;
    const fd = openSync(path as string, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o640);
    const stream = createWriteStream(path as string, { fd, flags: 'a' });
    const { dev, ino } = fstatSync(fd);
    const opened: OpenFile = {
      stream,
      transport: new winston.transports.Stream({
        stream,
        level: options.level,
        format: lineFormat({ format: options.format, colour: false, journal: false }),
      }),
      fd,
      dev,
      ino,
      recovering: failing,
    };
    opened.transport.on('error', () => {});
    stream.on('error', (error: Error) => {
      if (file !== opened) return;
      detach(opened);
      if (!failing && !closing) {
        failing = true;
        note(
          'warn',
          `log file ${path}: ${error.message}; its lines go to stderr only until it can be written again (retried every ${RETRY_MS / 1000} s and on SIGHUP)`,
        );
      }
    });
    return opened;
  };
  // Reopen the file. A write error is over only once the new file took bytes (seen at the next check).
  const replace = (): boolean => {
    lastTry = Date.now();
    let next: OpenFile;
    try {
      next = open();
    } catch (error) {
      if (!failing) note('warn', `cannot reopen log file ${path}: ${(error as Error).message}`);
      failing = true;
      return false;
    }
    const old = file;
    if (old) {
      detach(old);
      old.stream.end();
    }
    file = next;
    logger.add(next.transport);
    return true;
  };
  /** What became of the open file when the path no longer names it. */
  const whereabouts = (open: OpenFile): 'moved away' | 'deleted' => {
    try {
      // Still linked somewhere (renamed by logrotate) or not at all (rm).
      return fstatSync(open.fd).nlink > 0 ? 'moved away' : 'deleted';
    } catch {
      return 'deleted';
    }
  };
  let check: NodeJS.Timeout | undefined;
  if (path) {
    file = open();
    logger.add(file.transport);
    // Retry a failed file; continue a moved or deleted one at the path (its lines would go nowhere anyone
    // looks).
    check = setInterval(() => {
      if (closing) return;
      if (!file) {
        if (Date.now() - lastTry >= RETRY_MS) replace();
        return;
      }
      if (failing && file.recovering && file.stream.bytesWritten > 0) {
        failing = false;
        file.recovering = false;
        note('info', `log file ${path}: writing again`);
      }
      let now: { dev: number; ino: number } | undefined;
      try {
        now = statSync(path);
      } catch {}
      if (now?.dev === file.dev && now.ino === file.ino) return;
      const what = whereabouts(file);
      if (replace()) {
        log(
          what === 'deleted' ? 'warn' : 'info',
          `log file ${path} was ${what}: continuing in ${now ? 'the new file' : 'a new file'} at this path`,
        );
      }
    }, CHECK_MS).unref();
  }
  return {
    log,
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
