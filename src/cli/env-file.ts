// --env-file FILE: variables for the children, one KEY=VALUE a line (the syntax is in docs/operations.md,
// "Environment files"). Read once at start, as root before the drop, so a file only root may read works
// (like systemd's EnvironmentFile=). Anything that is not a clear assignment is a usage error naming the
// file and line: a silently skipped line would start the app without a variable it needs.
import { readFileSync, statSync } from 'node:fs';
import { UsageError } from './options.js';

/** An environment file is a few lines; this bounds what a wrong path makes tsdaemon read. */
const MAX_ENV_FILE_BYTES = 1024 * 1024;
const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Variables tsdaemon itself sets for every child (docs/protocol.md): a file cannot override them. */
const RESERVED = /^(TSDAEMON_\w*|LISTEN_FDS|LISTEN_PID|LISTEN_FDNAMES)$/;
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"' };

class LineError extends Error {}

/**
 * The value after "KEY=": unquoted (trimmed; a '#' after a blank starts a comment, so a#b keeps it),
 * '…' taken literally, or "…" with the escapes \n \t \r \\ \".
 */
function parseValue(text: string): string {
  const rest = text.trimStart();
  const quote = rest[0];
  if (quote !== "'" && quote !== '"') return text.replace(/\s#.*$/, '').trim();
  let value = '';
  let i = 1;
  for (; i < rest.length && rest[i] !== quote; i++) {
    const char = rest[i] as string;
    const next = rest[i + 1];
    if (quote === '"' && char === '\\' && next !== undefined && next in ESCAPES) {
      value += ESCAPES[next];
      i++;
    } else value += char;
  }
  if (i >= rest.length) throw new LineError(`the ${quote} quote is not closed on this line`);
  const after = rest.slice(i + 1).trim();
  if (after !== '' && !after.startsWith('#'))
    throw new LineError(`'${after}' after the closing quote (quote the whole value)`);
  return value;
}

/** The variables in text, in order (a later line wins over an earlier one with the same KEY). */
export function parseEnvFile(text: string, given: string): Record<string, string> {
  const variables: Record<string, string> = {};
  const lines = text.split('\n');
  for (const [index, raw] of lines.entries()) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const where = `--env-file: ${given}:${index + 1}`;
    const assignment = trimmed.replace(/^export[ \t]+/, '');
    const equals = assignment.indexOf('=');
    const key = (equals < 0 ? assignment : assignment.slice(0, equals)).trimEnd();
    if (equals < 0 || !KEY.test(key)) {
      const shown = trimmed.length > 40 ? `${trimmed.slice(0, 40)}…` : trimmed;
      throw new UsageError(
        `${where}: '${shown}' is not KEY=VALUE (KEY: letters, digits and _, not starting with a digit)`,
      );
    }
    if (RESERVED.test(key)) {
      throw new UsageError(
        `${where}: ${key} is set by tsdaemon for every child; leave it out (tsdaemon's own options go on its command line, TSDAEMON_* variables or --config)`,
      );
    }
    if (line.includes('\0')) throw new UsageError(`${where}: the line contains a NUL byte`);
    try {
      variables[key] = parseValue(assignment.slice(equals + 1));
    } catch (error) {
      if (error instanceof LineError) throw new UsageError(`${where}: ${error.message}`);
      throw error;
    }
  }
  return variables;
}

/** Read and parse the file at path (given: the path as the operator wrote it). */
export function readEnvFile(path: string, given: string): Record<string, string> {
  let text: string;
  try {
    // Not a FIFO (opening one blocks until a writer comes), a device or a directory.
    const stat = statSync(path);
    if (!stat.isFile()) {
      const what = stat.isDirectory() ? 'a directory' : 'no regular file';
      throw new UsageError(`--env-file: '${given}' is ${what}; give a file of KEY=VALUE lines`);
    }
    if (stat.size > MAX_ENV_FILE_BYTES)
      throw new UsageError(
        `--env-file: '${given}' is ${stat.size} bytes; an environment file has at most 1 MiB`,
      );
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const errno = (error as NodeJS.ErrnoException).code ?? 'EIO';
    throw new UsageError(`--env-file: cannot read '${given}': ${errno}`);
  }
  return parseEnvFile(text, given);
}
