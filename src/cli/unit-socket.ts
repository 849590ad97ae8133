// `tsdaemon unit --socket`: the --listen addresses as .socket units, so that systemd binds them and hands
// them to tsdaemon (--listen=systemd:NAME). One unit per address, each named by FileDescriptorName= (the
// listener's name), because FileDescriptorName= names every socket of its unit.
import { isIP } from 'node:net';
import { defaultListenerName, type ListenSpec } from '../listen/address.js';
import { UsageError } from './options.js';
import type { SocketPlan } from './unit-file.js';

function inetAddress(spec: { raw: string; host: string; port: number }): string {
  if (spec.port === 0)
    throw new UsageError(`--socket: --listen=${spec.raw} has no fixed port for a .socket unit`);
  if (spec.host === '') return String(spec.port);
  if (!isIP(spec.host))
    throw new UsageError(
      `--socket: --listen=${spec.raw}: systemd binds addresses, not host names; give one (127.0.0.1, [::1])`,
    );
  return isIP(spec.host) === 6 ? `[${spec.host}]:${spec.port}` : `${spec.host}:${spec.port}`;
}

function socketLines(spec: ListenSpec): string[] {
  const lines: string[] = [];
  switch (spec.kind) {
    case 'tcp':
    case 'udp':
      lines.push(`${spec.kind === 'tcp' ? 'ListenStream' : 'ListenDatagram'}=${inetAddress(spec)}`);
      if (spec.ipv6only) lines.push('BindIPv6Only=ipv6-only');
      if (spec.reuseport) lines.push('ReusePort=yes');
      break;
    case 'unix':
      lines.push(`ListenStream=${spec.path}`);
      if (spec.mode !== undefined) lines.push(`SocketMode=${spec.mode.toString(8).padStart(4, '0')}`);
      if (spec.owner !== undefined) lines.push(`SocketUser=${spec.owner}`);
      if (spec.group !== undefined) lines.push(`SocketGroup=${spec.group}`);
      break;
    default:
      throw new UsageError(`--socket: --listen=${spec.raw} is not an address systemd can bind`);
  }
  if (spec.backlog !== undefined) lines.push(`Backlog=${spec.backlog}`);
  return lines;
}

/** The .socket units for service name's --listen addresses: NAME.socket for one, NAME-LISTENER.socket each for several. */
export function socketPlans(name: string, listen: ListenSpec[]): SocketPlan[] {
  if (listen.length === 0) throw new UsageError('--socket: no --listen address to put into a .socket unit');
  const names = new Set<string>();
  return listen.map((spec) => {
    const fdName = spec.name ?? defaultListenerName(spec);
    if (names.has(fdName))
      throw new UsageError(
        `--socket: two --listen addresses are both named '${fdName}'; name them (NAME=ADDR)`,
      );
    names.add(fdName);
    const unit = listen.length === 1 ? `${name}.socket` : `${name}-${fdName}.socket`;
    return { unit, fdName, lines: socketLines(spec) };
  });
}
