// One request over the control socket: connect, send a line, read the answer line.
import net from 'node:net';
import type { ControlCommand } from './wire.js';

export class ControlUnavailable extends Error {}

export function request(
  path: string,
  command: ControlCommand,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ path });
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer on ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify({ command })}\n`));
    socket.on('data', (chunk) => {
      data += chunk;
    });
    socket.on('end', () => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(data.trim()) as Record<string, unknown>);
      } catch {
        reject(new Error(`unexpected answer on ${path}: ${JSON.stringify(data)}`));
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const unavailable = ['ENOENT', 'ECONNREFUSED'].includes(error.code ?? '');
      reject(unavailable ? new ControlUnavailable(`no tsdaemon answers on ${path} (${error.code})`) : error);
    });
  });
}
