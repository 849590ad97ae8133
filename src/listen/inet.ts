// TCP and UDP listeners: resolve the host, bind without listening (src/os/sockets/socket-handles.ts), and explain errno.
import { isIP } from 'node:net';
import { TsdaemonError } from '../errors.js';
import { EXIT_LISTEN, EXIT_USAGE } from '../exit-codes.js';
import {
  type BoundHandle,
  bindTcp,
  bindUdp,
  SocketError,
  supportsReusePort,
} from '../os/sockets/socket-handles.js';
import type { TcpSpec, UdpSpec } from './address.js';
import { listenError } from './opened.js';

export function inetFix(errno: string, port: number, kind: 'tcp' | 'udp'): string {
  switch (errno) {
    case 'EADDRINUSE':
      return `another socket holds port ${port}; see who with: ss -${kind === 'tcp' ? 'lt' : 'u'}np 'sport = :${port}'`;
    case 'EACCES':
      return port < 1024
        ? 'ports below 1024 need root or CAP_NET_BIND_SERVICE; run tsdaemon as root, or grant it that capability'
        : 'permission denied by the system (a security policy?)';
    case 'EADDRNOTAVAIL':
      return 'the address is not on any interface of this machine';
    case 'EAFNOSUPPORT':
      return 'this machine has no IPv6 (use 0.0.0.0 or an IPv4 address)';
    case 'EMFILE':
    case 'ENFILE':
      return "too many open files: raise tsdaemon's limit with ulimit -n, systemd's LimitNOFILE= or docker run --ulimit nofile=";
    default:
      return 'see docs/errors.md';
  }
}

async function resolveHost(spec: TcpSpec | UdpSpec): Promise<{ host: string; family: 4 | 6 }> {
  if (spec.host === '') return { host: '', family: 6 };
  const family = isIP(spec.host);
  if (family !== 0) return { host: spec.host, family: family as 4 | 6 };
  try {
    // Loaded only for a host name: a supervisor started with addresses does not carry the resolver.
    const { lookup } = await import('node:dns/promises');
    const found = await lookup(spec.host);
    return { host: found.address, family: found.family === 6 ? 6 : 4 };
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code ?? 'ENOTFOUND';
    throw new TsdaemonError(
      'listen-unknown-host',
      `cannot resolve host '${spec.host}' in --listen=${spec.raw}: ${errno} (check the name, or use an IP address)`,
      EXIT_LISTEN,
    );
  }
}

export async function openInet(
  spec: TcpSpec | UdpSpec,
): Promise<{ handle: BoundHandle; host: string; port: number }> {
  if (spec.reuseport && !supportsReusePort()) {
    throw new TsdaemonError(
      'listen-reuseport-unsupported',
      `--listen=${spec.raw}: reuseport needs Node.js >= 22.12 (this is ${process.version}); drop the option or upgrade Node`,
      EXIT_USAGE,
    );
  }
  const { host, family } = await resolveHost(spec);
  try {
    const handle =
      spec.kind === 'tcp'
        ? bindTcp(host, spec.port, family, spec)
        : await bindUdp(host, spec.port, family, spec);
    const local = handle.local();
    return { handle, host: local?.host ?? host, port: local?.port ?? spec.port };
  } catch (error) {
    if (!(error instanceof SocketError)) throw error;
    throw listenError(spec, 'bind', error.code, inetFix(error.code, spec.port, spec.kind));
  }
}
