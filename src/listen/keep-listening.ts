// A child can take a held socket out of the LISTEN state for everyone: shutdown(2) on a listening socket
// acts on the socket itself, which every generation and tsdaemon share (close(2) only drops the child's
// own fd and is harmless). The kernel then refuses every new connection, also for the next generation.
// So once a second tsdaemon checks each stream socket it holds (getsockopt SO_ACCEPTCONN, through the
// native addon) and puts one that stopped listening back into LISTEN: connections queue again, for the
// children that still accept and for the next generation.
import type { Logger } from '../os/log/logger.js';
import type { NativeAddon } from '../os/native.js';
import { socketFacts } from '../os/procfs/proc-net.js';
import { DEFAULT_BACKLOG, type Listener } from './listeners.js';

const CHECK_MS = 1000;

export function keepListening(addon: NativeAddon, listeners: Listener[], logger: Logger): () => void {
  const streams = listeners.filter((l) => l.kind !== 'udp');
  if (streams.length === 0) return () => {};
  const timer = setInterval(() => {
    for (const listener of streams) {
      if (addon.isListening(listener.fd)) continue;
      const errno = addon.listen(listener.fd, listener.backlog ?? DEFAULT_BACKLOG);
      // A socket bound to port 0 (--listen=:0) lost its port with the shutdown, and listen() picked another.
      const port = listener.kind === 'tcp' ? socketFacts(listener.inode)?.port : listener.port;
      const fields = { name: listener.name };
      if (errno !== 0) {
        logger.log(
          'error',
          `${listener.description} stopped listening and cannot listen again (errno ${errno})`,
          fields,
        );
      } else if (port !== listener.port) {
        logger.log(
          'error',
          `${listener.description} was shut down by a child and lost its port (it was bound to port 0); it listens on port ${port} now: restart tsdaemon`,
          fields,
        );
      } else {
        logger.log(
          'warn',
          `${listener.description} had stopped listening (a child shut it down): listening again`,
          fields,
        );
      }
    }
  }, CHECK_MS).unref();
  return () => clearInterval(timer);
}
