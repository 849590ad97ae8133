// A child's stdout/stderr as log lines (--log-file): split on newlines, a partial last line flushed when
// the stream ends, very long lines cut, and bytes that would break a line-oriented log (control
// characters, invalid UTF-8) made visible instead of written raw.
import type { Readable } from 'node:stream';

/** Longer lines are cut into pieces of this many bytes. */
export const MAX_LINE_BYTES = 16 * 1024;

/** Control characters (all below 0x20 but tab, and DEL) shown as \xNN, so each log entry stays one line. */
export function cleanLine(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  if (!/[^\t\x20-\x7e\u0080-\uffff]/.test(text)) return text; // the common case: nothing to escape
  let out = '';
  for (const char of text) {
    const code = char.charCodeAt(0);
    out +=
      (code < 0x20 && code !== 0x09) || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : char;
  }
  return out;
}

/**
 * Calls onLine for every line of stream (without its newline); resolves when the stream has ended. While
 * backpressure() returns a promise (the log is behind), reading pauses until it resolves: the child then
 * blocks in write() once the pipe is full, as under journald, instead of tsdaemon buffering its output.
 */
export function forEachLine(
  stream: Readable,
  onLine: (line: string) => void,
  backpressure: () => Promise<void> | undefined = () => undefined,
): Promise<void> {
  let pending: Buffer = Buffer.alloc(0);
  const emit = (bytes: Buffer) => onLine(cleanLine(bytes.at(-1) === 0x0d ? bytes.subarray(0, -1) : bytes));
  stream.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let newline = pending.indexOf(0x0a);
    while (newline >= 0) {
      emit(pending.subarray(0, newline));
      pending = pending.subarray(newline + 1);
      newline = pending.indexOf(0x0a);
    }
    while (pending.length > MAX_LINE_BYTES) {
      emit(pending.subarray(0, MAX_LINE_BYTES));
      pending = pending.subarray(MAX_LINE_BYTES);
    }
    const behind = backpressure();
    if (behind) {
      stream.pause();
      behind.then(() => stream.resume());
    }
  });
  return new Promise((resolve) => {
    const done = () => {
      if (pending.length > 0) emit(pending);
      pending = Buffer.alloc(0);
      resolve();
    };
    stream.once('end', done);
    stream.once('error', done);
  });
}
