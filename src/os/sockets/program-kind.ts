// What kind of program a command is, for the bind shim (LD_PRELOAD): the dynamic loader preloads a library
// only into a dynamically linked program that is not setuid/setgid, and only programs that call bind()
// through libc get it. For a script, its interpreter is what runs (`#!/usr/bin/env python3`: python3).
//
// Read from the ELF headers: a program without a PT_INTERP program header is statically linked (no loader
// runs, so nothing is preloaded); one with a PT_NOTE named "Go" (Go's build ID note) is a Go program, which
// makes its system calls itself, past libc, even when it is linked dynamically.
import { closeSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { basename, delimiter, resolve } from 'node:path';

export type ProgramKind =
  /** the node binary itself as the command (`node app.js`): tsdaemon's Node preload does the work */
  | 'node'
  /** dynamically linked through libc: the shim reaches it */
  | 'dynamic'
  | 'static'
  | 'go'
  | 'setuid'
  /** not an ELF program tsdaemon can read (another format, unreadable, an interpreter it cannot find) */
  | 'unknown';

export interface Program {
  kind: ProgramKind;
  /** The file that runs: the command, or a script's interpreter. */
  path: string;
}

const PT_INTERP = 3;
const PT_NOTE = 4;
const HEADER_BYTES = 64 * 1024;

function readStart(path: string, bytes = HEADER_BYTES): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buffer = Buffer.alloc(bytes);
    const read = readSync(fd, buffer, 0, bytes, 0);
    return buffer.subarray(0, read);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function readAt(path: string, offset: number, length: number): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buffer = Buffer.alloc(length);
    return buffer.subarray(0, readSync(fd, buffer, 0, length, offset));
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** ELF64 or ELF32, little or big endian: static, go, dynamic, or undefined when it is no ELF file. */
export function elfKind(path: string): 'static' | 'go' | 'dynamic' | undefined {
  const head = readStart(path, 64);
  if (!head || head.length < 52 || head.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const is64 = head[4] === 2;
  const little = head[5] === 1;
  const u16 = (b: Buffer, at: number) => (little ? b.readUInt16LE(at) : b.readUInt16BE(at));
  const u32 = (b: Buffer, at: number) => (little ? b.readUInt32LE(at) : b.readUInt32BE(at));
  const word = (b: Buffer, at: number) =>
    is64 ? Number(little ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at)) : u32(b, at);
  if (is64 && head.length < 64) return undefined;
  const phoff = word(head, is64 ? 32 : 28);
  const phentsize = u16(head, is64 ? 54 : 42);
  const phnum = u16(head, is64 ? 56 : 44);
  const table = readAt(path, phoff, phentsize * phnum);
  if (!table || table.length < phentsize * phnum) return undefined;
  let interpreter = false;
  let go = false;
  for (let i = 0; i < phnum; i++) {
    const at = i * phentsize;
    const type = u32(table, at);
    if (type === PT_INTERP) interpreter = true;
    if (type === PT_NOTE && !go) {
      const offset = word(table, at + (is64 ? 8 : 4));
      const size = word(table, at + (is64 ? 32 : 16));
      go = hasGoNote(readAt(path, offset, Math.min(size, 4096)), u32);
    }
  }
  return go ? 'go' : interpreter ? 'dynamic' : 'static';
}

/** Notes are (namesz, descsz, type, name padded to 4, desc padded to 4); Go's build ID note is named "Go\0\0". */
function hasGoNote(notes: Buffer | undefined, u32: (b: Buffer, at: number) => number): boolean {
  if (!notes) return false;
  for (let at = 0; at + 12 <= notes.length; ) {
    const nameSize = u32(notes, at);
    const descSize = u32(notes, at + 4);
    const name = notes.subarray(at + 12, at + 12 + nameSize).toString('latin1');
    if (name.replace(/\0+$/, '') === 'Go') return true;
    at += 12 + Math.ceil(nameSize / 4) * 4 + Math.ceil(descSize / 4) * 4;
  }
  return false;
}

function findInPath(name: string, pathVariable: string | undefined): string | undefined {
  if (name.includes('/')) return name;
  for (const dir of (pathVariable ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    const candidate = resolve(dir || '.', name);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {}
  }
  return undefined;
}

/** The interpreter a `#!` line names (through `env NAME` and `env -S NAME …`), or undefined. */
function interpreterOf(path: string, pathVariable: string | undefined): string | undefined {
  const head = readStart(path, 256);
  if (!head?.subarray(0, 2).equals(Buffer.from('#!'))) return undefined;
  const line = head.toString('latin1').slice(2).split('\n')[0] ?? '';
  const [program, ...args] = line.trim().split(/\s+/);
  if (!program) return undefined;
  if (basename(program) !== 'env') return program;
  const name = args.find((arg) => !arg.startsWith('-') && !arg.includes('='));
  return name ? findInPath(name, pathVariable) : undefined;
}

/** The kind of the program at path (an absolute path, as findCommand returns it). */
export function inspectProgram(path: string, pathVariable?: string): Program {
  let file = path;
  for (let depth = 0; depth < 4; depth++) {
    let real: string;
    try {
      real = realpathSync(file);
      if ((statSync(real).mode & 0o6000) !== 0) return { kind: 'setuid', path: file };
    } catch {
      return { kind: 'unknown', path: file };
    }
    const elf = elfKind(real);
    if (elf) {
      const name = basename(real);
      // A script run by node (npm, yarn, npx, tsx) is a launcher that may start any program: 'dynamic'.
      const node = depth === 0 && (name === 'node' || name === 'nodejs');
      return { kind: elf === 'dynamic' && node ? 'node' : elf, path: file };
    }
    const interpreter = interpreterOf(real, pathVariable);
    if (!interpreter) return { kind: 'unknown', path: file };
    file = interpreter;
  }
  return { kind: 'unknown', path: file };
}
