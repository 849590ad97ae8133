// What Linux says about a socket, read from /proc: its inode (from /proc/self/fd/N) and, from the
// /proc/net tables, its protocol, local address and whether it is in the LISTEN state. Used to check an
// inherited fd (&N, systemd) before handing it on, and to describe it to the child.
import { readFileSync, readlinkSync } from 'node:fs';

export interface SocketFacts {
  kind: 'tcp' | 'udp' | 'unix';
  /** tcp: in the LISTEN state; unix: SO_ACCEPTCON set; udp: always false. */
  listening: boolean;
  /** unix stream and tcp are stream sockets; udp and unix datagram are not. */
  stream: boolean;
  host?: string;
  port?: number;
  path?: string;
}

/** The inode of the socket open on fd in process pid, or undefined when fd is no socket (or not open). */
export function socketInode(fd: number, pid: number | 'self' = 'self'): number | undefined {
  try {
    const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

function readTable(name: string): string[] {
  try {
    return readFileSync(`/proc/net/${name}`, 'latin1').split('\n').slice(1);
  } catch {
    return [];
  }
}

// /proc/net/tcp prints addresses as the kernel stores them: 32-bit words in host (little-endian) order.
export function decodeIPv4(hex: string): string {
  const n = Number.parseInt(hex, 16);
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
}

export function decodeIPv6(hex: string): string {
  const bytes: number[] = [];
  for (let word = 0; word < 4; word++) {
    const chunk = hex.slice(word * 8, word * 8 + 8);
    for (let i = 3; i >= 0; i--) bytes.push(Number.parseInt(chunk.slice(i * 2, i * 2 + 2), 16));
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2)
    groups.push((((bytes[i] as number) << 8) | (bytes[i + 1] as number)).toString(16));
  // Compress the longest run of zero groups, as inet_ntop does.
  const text = groups.join(':');
  const runs = text.match(/(^|:)0(:0)+(:|$)/g);
  if (!runs) return text;
  const longest = runs.reduce((a, b) => (b.length > a.length ? b : a));
  return text.replace(longest, '::');
}

const TCP_LISTEN = '0A';

const INET_TABLES = [
  ['tcp', 'tcp', false],
  ['tcp6', 'tcp', true],
  ['udp', 'udp', false],
  ['udp6', 'udp', true],
] as const;

function inetFacts(cols: string[], kind: 'tcp' | 'udp', v6: boolean): SocketFacts {
  const [addr = '', port = '0'] = (cols[1] ?? '').split(':');
  return {
    kind,
    listening: kind === 'tcp' && cols[3] === TCP_LISTEN,
    stream: kind === 'tcp',
    host: v6 ? decodeIPv6(addr) : decodeIPv4(addr),
    port: Number.parseInt(port, 16),
  };
}

const SO_ACCEPTCON = 0x10000;
const SOCK_STREAM = 1;
const SOCK_SEQPACKET = 5;

function unixFacts(cols: string[]): SocketFacts {
  // Num RefCount Protocol Flags Type St Inode Path
  const type = Number.parseInt(cols[4] ?? '0', 16);
  const facts: SocketFacts = {
    kind: 'unix',
    listening: (Number.parseInt(cols[3] ?? '0', 16) & SO_ACCEPTCON) !== 0,
    stream: type === SOCK_STREAM || type === SOCK_SEQPACKET,
  };
  if (cols[7]) facts.path = cols[7];
  return facts;
}

/**
 * Facts for several sockets at once, reading each /proc/net table at most once (a busy host has tens of
 * thousands of lines in /proc/net/tcp: one read per socket made start-up slow with many listeners).
 */
export function socketFactsOf(inodes: number[]): Map<number, SocketFacts> {
  const wanted = new Set(inodes);
  const found = new Map<number, SocketFacts>();
  for (const [table, kind, v6] of INET_TABLES) {
    if (found.size === wanted.size) return found;
    for (const line of readTable(table)) {
      const cols = line.trim().split(/\s+/);
      const inode = Number(cols[9]);
      if (wanted.has(inode)) found.set(inode, inetFacts(cols, kind, v6));
    }
  }
  if (found.size === wanted.size) return found;
  for (const line of readTable('unix')) {
    const cols = line.trim().split(/\s+/);
    const inode = Number(cols[6]);
    if (wanted.has(inode)) found.set(inode, unixFacts(cols));
  }
  return found;
}

/** Protocol, address and state of the socket with this inode, or undefined when /proc/net does not list it. */
export function socketFacts(inode: number): SocketFacts | undefined {
  return socketFactsOf([inode]).get(inode);
}
