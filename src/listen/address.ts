// The --listen grammar (docs/protocol.md, README):   [NAME=]ADDR[,opt[=val]...]
//   :8080  8080  0.0.0.0:8080  127.0.0.1:8080  [::]:8080  [::1]:8080  localhost:8080  tcp:HOST:PORT
//   unix:/run/app.sock[,mode=0660,owner=www,group=www]
//   udp:127.0.0.1:5353  udp::5353  udp:[::1]:5353
//   &3                  an already-open socket inherited on fd 3
//   systemd  systemd:NAME   sockets passed to tsdaemon by systemd socket activation (LISTEN_FDS)
// Options: backlog=N (stream sockets), reuseport (tcp, udp), ipv6only (tcp, udp on [::]),
//          mode=, owner=, group= (unix).
// Pure: no I/O. Host names are resolved when binding, not here.
import { isIP, isIPv6 } from 'node:net';
import { resolve } from 'node:path';

interface Common {
  /** The text given, for error messages. */
  raw: string;
  /** NAME from NAME=ADDR, if given. */
  name?: string;
  backlog?: number;
}
export interface TcpSpec extends Common {
  kind: 'tcp';
  /** '' means every address (dual-stack :: when the machine has IPv6, else 0.0.0.0). */
  host: string;
  port: number;
  reuseport: boolean;
  ipv6only: boolean;
}
export interface UdpSpec extends Common {
  kind: 'udp';
  host: string;
  port: number;
  reuseport: boolean;
  ipv6only: boolean;
}
export interface UnixSpec extends Common {
  kind: 'unix';
  path: string;
  mode?: number;
  owner?: string;
  group?: string;
}
export interface FdSpec extends Common {
  kind: 'fd';
  fd: number;
}
export interface SystemdSpec extends Common {
  kind: 'systemd';
  /** systemd:NAME takes only the sockets systemd named NAME; without it, all of them. */
  fdName?: string;
}
export type ListenSpec = TcpSpec | UdpSpec | UnixSpec | FdSpec | SystemdSpec;

/** A --listen value that does not parse; the message says why and shows a valid form. */
export class ListenSyntaxError extends Error {
  override readonly name = 'ListenSyntaxError';
}

export const LISTENER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
const HOSTNAME =
  /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const MAX_BACKLOG = 65_535;
const EXAMPLE_VALUES: Record<string, string> = {
  backlog: '1024',
  mode: '0660',
  owner: 'www-data',
  group: 'www-data',
};

function fail(raw: string, why: string): never {
  throw new ListenSyntaxError(`'${raw}': ${why}`);
}

function parsePort(raw: string, text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65_535) {
    fail(raw, `port '${text}' must be a number from 0 to 65535 (e.g. 127.0.0.1:8080)`);
  }
  return Number(text);
}

/** HOST:PORT, [V6]:PORT, :PORT or PORT. */
function parseHostPort(raw: string, text: string): { host: string; port: number } {
  if (/^\d+$/.test(text)) return { host: '', port: parsePort(raw, text) };
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0 || text[end + 1] !== ':') fail(raw, 'write an IPv6 address as [ADDR]:PORT, e.g. [::1]:8080');
    const host = text.slice(1, end);
    if (!isIPv6(host)) fail(raw, `'${host}' is not an IPv6 address`);
    return { host, port: parsePort(raw, text.slice(end + 2)) };
  }
  const colon = text.lastIndexOf(':');
  if (colon < 0)
    fail(raw, 'expected HOST:PORT, :PORT, [IPV6]:PORT, unix:PATH, udp:HOST:PORT, &FD or systemd');
  const host = text.slice(0, colon);
  if (host.includes(':')) fail(raw, `IPv6 addresses need brackets: [${host}]:${text.slice(colon + 1)}`);
  if (host !== '' && isIP(host) === 0 && !HOSTNAME.test(host))
    fail(raw, `'${host}' is not a valid host name or address`);
  return { host, port: parsePort(raw, text.slice(colon + 1)) };
}

type Options = Map<string, string | true>;

function parseOptions(raw: string, parts: string[]): Options {
  const options: Options = new Map();
  for (const part of parts) {
    if (part === '') fail(raw, 'empty option between commas');
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq);
    if (options.has(key)) fail(raw, `option '${key}' given twice`);
    options.set(key, eq < 0 ? true : part.slice(eq + 1));
  }
  return options;
}

const OPTIONS_BY_KIND: Record<ListenSpec['kind'], string[]> = {
  tcp: ['backlog', 'reuseport', 'ipv6only'],
  udp: ['reuseport', 'ipv6only'],
  unix: ['backlog', 'mode', 'owner', 'group'],
  fd: ['backlog'],
  systemd: [],
};

function flag(raw: string, options: Options, key: string): boolean {
  const value = options.get(key);
  if (value === undefined || value === 'false' || value === '0') return false;
  if (value === true || value === 'true' || value === '1') return true;
  return fail(raw, `${key}=${value}: use ${key}, ${key}=true or ${key}=false`);
}

function text(raw: string, options: Options, key: string): string | undefined {
  const value = options.get(key);
  if (value === true || value === '')
    fail(raw, `${key} needs a value, e.g. ${key}=${EXAMPLE_VALUES[key] ?? 'x'}`);
  return value;
}

function backlogOf(raw: string, options: Options): number | undefined {
  const value = text(raw, options, 'backlog');
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > MAX_BACKLOG) {
    fail(raw, `backlog=${value}: must be a number from 1 to ${MAX_BACKLOG}`);
  }
  return Number(value);
}

function modeOf(raw: string, options: Options): number | undefined {
  const value = text(raw, options, 'mode');
  if (value === undefined) return undefined;
  if (!/^0?[0-7]{3}$/.test(value)) fail(raw, `mode=${value}: must be octal permissions such as 0660`);
  return Number.parseInt(value, 8);
}

function splitName(raw: string, head: string): { name?: string; address: string } {
  const eq = head.indexOf('=');
  if (eq < 0) return { address: head };
  const name = head.slice(0, eq);
  // "unix:/tmp/a=b.sock" has an '=' too, but what stands before it is no valid name.
  if (!LISTENER_NAME.test(name)) {
    if (/[:/&[]/.test(name)) return { address: head };
    fail(raw, `name '${name}' may use only letters, digits, '_', '.', '-' (at most 64, e.g. web=:8080)`);
  }
  return { name, address: head.slice(eq + 1) };
}

/** Parse one --listen value. Throws ListenSyntaxError with a message naming the problem. */
export function parseListen(raw: string, cwd = '/'): ListenSpec {
  const [head = '', ...optionParts] = raw.trim().split(',');
  const { name, address } = splitName(raw, head);
  if (address === '') fail(raw, 'no address (e.g. :8080, unix:/run/app.sock, udp::5353, &3, systemd)');
  const options = parseOptions(raw, optionParts);
  const common = name === undefined ? { raw } : { raw, name };

  let spec: ListenSpec;
  if (address.startsWith('unix:')) {
    const path = address.slice(5);
    if (path === '') fail(raw, 'unix: needs a path, e.g. unix:/run/app.sock');
    if (path.includes('\0')) fail(raw, 'the path contains a NUL byte');
    const absolute = resolve(cwd, path);
    // sun_path holds 108 bytes including the terminating NUL.
    if (Buffer.byteLength(absolute) > 107)
      fail(raw, `the socket path is ${Buffer.byteLength(absolute)} bytes; at most 107 fit`);
    spec = { kind: 'unix', ...common, path: absolute };
  } else if (address.startsWith('udp:')) {
    spec = {
      kind: 'udp',
      ...common,
      ...parseHostPort(raw, address.slice(4)),
      reuseport: false,
      ipv6only: false,
    };
  } else if (address.startsWith('&')) {
    const fdText = address.slice(1);
    if (!/^\d{1,7}$/.test(fdText)) fail(raw, 'expected &FD with a number, e.g. &3');
    const fd = Number(fdText);
    if (fd < 3) fail(raw, `fd ${fd} is stdin/stdout/stderr; an inherited socket is fd 3 or above`);
    spec = { kind: 'fd', ...common, fd };
  } else if (address === 'systemd' || address.startsWith('systemd:')) {
    const fdName = address.slice(8);
    if (address !== 'systemd' && !LISTENER_NAME.test(fdName)) {
      fail(raw, `systemd:${fdName}: expected the FileDescriptorName= of a socket unit`);
    }
    spec = address === 'systemd' ? { kind: 'systemd', ...common } : { kind: 'systemd', ...common, fdName };
  } else {
    const hostPort = address.startsWith('tcp:') ? address.slice(4) : address;
    spec = { kind: 'tcp', ...common, ...parseHostPort(raw, hostPort), reuseport: false, ipv6only: false };
  }

  const allowed = OPTIONS_BY_KIND[spec.kind];
  for (const key of options.keys()) {
    if (!allowed.includes(key)) {
      const valid = allowed.length > 0 ? allowed.join(', ') : 'none';
      fail(raw, `option '${key}' does not apply to a ${spec.kind} listener (valid: ${valid})`);
    }
  }
  const backlog = backlogOf(raw, options);
  if (backlog !== undefined) spec.backlog = backlog;
  if (spec.kind === 'tcp' || spec.kind === 'udp') {
    spec.reuseport = flag(raw, options, 'reuseport');
    spec.ipv6only = flag(raw, options, 'ipv6only');
    if (spec.ipv6only && spec.host !== '' && !isIPv6(spec.host))
      fail(raw, 'ipv6only needs an IPv6 address or :PORT');
  }
  if (spec.kind === 'unix') {
    const mode = modeOf(raw, options);
    const owner = text(raw, options, 'owner');
    const group = text(raw, options, 'group');
    if (mode !== undefined) spec.mode = mode;
    if (owner !== undefined) spec.owner = owner;
    if (group !== undefined) spec.group = group;
  }
  return spec;
}

/** A stable, systemd-compatible name (no ':') derived from the address, for listeners given without NAME=. */
export function defaultListenerName(spec: ListenSpec): string {
  // Every other character (':' of IPv6 included) becomes '_': [::1]:80 is tcp-__1-80.
  const clean = (value: string) => value.replace(/[^A-Za-z0-9_.-]/g, '_');
  switch (spec.kind) {
    case 'tcp':
    case 'udp':
      return spec.host === '' || spec.host === '::' || spec.host === '0.0.0.0'
        ? `${spec.kind}-${spec.port}`
        : `${spec.kind}-${clean(spec.host)}-${spec.port}`;
    case 'unix':
      return `unix-${
        clean(
          spec.path
            .split('/')
            .pop()
            ?.replace(/\.sock$/, '') ?? '',
        ) || 'socket'
      }`;
    case 'fd':
      return `fd${spec.fd}`;
    case 'systemd':
      return spec.fdName ?? 'systemd';
  }
}
