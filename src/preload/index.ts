// Loaded into every Node child through NODE_OPTIONS=--require, bundled as dist/preload.cjs by
// scripts/build.mjs (turn off with --no-preload). For an unmodified app it does three things:
// - listen: app.listen(8080) / server.listen(process.env.PORT) / listen('/run/app.sock') on a port or path
//   tsdaemon holds listens on the inherited fd instead (no EADDRINUSE). Other listens are left alone. The
//   same goes for dgram's bind() on a held UDP port (./listen.ts).
// - ready: under --ready=auto, once such a server listens, it tells tsdaemon (READY=1 on TSDAEMON_READY_FD,
//   or IPC). Under --ready=fd or ipc the app says it is ready itself, when it is (./auto-ready.ts).
// - drain: on the stop signal every such server drains (../app/drain.ts), also when the app itself calls
//   plain server.close() (./close.ts): in-flight requests finish, idle keep-alive connections close
//   within about a second, HTTP/2 sessions get GOAWAY, and long-lived connections (WebSocket, raw TCP,
//   server-sent events) stay until the lame-duck deadline less a margin, then end with a FIN. The app is
//   told through its own stop-signal handler or tsdaemon/app's onDrain(). An app with no handler of its
//   own then exits 0 (./stop.ts).
// Each concern is one module; this file only wires them to the servers it adopts.
import type { Server } from 'node:net';
import { track } from '../app/connections.js';
import { ENV_PRELOAD, ENV_STOP_SIGNAL, type ListenerInfo } from '../child-protocol.js';
import { createAutoReady } from './auto-ready.js';
import { drainOnClose } from './close.js';
import { launcherListeners } from './launcher.js';
import { patchBind, patchListen } from './listen.js';
import { createStopDrain } from './stop-drain.js';

function install(held: ListenerInfo[], env: NodeJS.ProcessEnv): void {
  const stopSignal = (env[ENV_STOP_SIGNAL] || 'SIGTERM') as NodeJS.Signals;
  const drainOnStop = createStopDrain(stopSignal);
  const reportReady = createAutoReady(held, env);
  const adopted = new WeakSet<Server>();
  const adopt = (server: Server) => {
    if (adopted.has(server)) return;
    adopted.add(server);
    track(server);
    drainOnStop(server);
    drainOnClose(server);
    reportReady(server);
  };
  patchListen(held, adopt);
  patchBind(held);
}

if (process.env[ENV_PRELOAD] !== '0') {
  // Also passes the sockets on when this process is a launcher (npm start, npx, tsx): ./launcher.ts.
  const held = launcherListeners();
  if (held.length > 0) install(held, process.env);
}
