// The real servers of bench:servers and how each is started, per drain setting ("variant"). Each entry:
//   needs:   what must be there ('node-frameworks' from npm, 'python' with gunicorn/uvicorn, 'go');
//   variants: { name: { argv(ctx), settings (the words for the table), clean (documented in
//             docs/servers.md as the clean drain), ready (its own tsdaemon options), diagnostic (run only
//             when named in --variants) } };
//   ready:   extra tsdaemon options (a variant may have its own); none needs one: gunicorn's sync worker
//             waits in select(), socketserver in poll(), the others in epoll, and --ready=auto sees them all;
//   waitsIn: 'select' or 'poll' for those two: the baseline-epoll hand-over (bench/handover.py) cannot
//             see them ready.
// ctx: { nodeDir (where node.mjs is, next to the installed frameworks), goBin (the built Go server) }.
import { fileURLToPath } from 'node:url';

export const SERVERS_DIR = fileURLToPath(new URL('../servers/', import.meta.url));
export const PYTHON = '/usr/bin/python3'; // Debian's, where python3-gunicorn and python3-uvicorn live

const nodeVariant = (framework, drain, settings, clean) => ({
  settings,
  argv: (ctx) => [process.execPath, `${ctx.nodeDir}/node.mjs`, framework, drain],
  clean,
});
const node = (framework) => ({
  needs: framework === 'http' ? [] : ['node-frameworks'],
  variants:
    framework === 'fastify'
      ? {
          close: nodeVariant(framework, 'close', 'fastify.close() on SIGTERM', false),
          'close-no503': nodeVariant(
            framework,
            'close-no503',
            'fastify.close() on SIGTERM, return503OnClosing: false',
            true,
          ),
          helper: nodeVariant(framework, 'helper', 'drain(server) of tsdaemon/app on SIGTERM', true),
        }
      : {
          // Clean under tsdaemon: its preload turns close() into a drain.
          close: nodeVariant(framework, 'close', 'server.close() on SIGTERM', true),
          helper: nodeVariant(framework, 'helper', 'drain(server) of tsdaemon/app on SIGTERM', true),
        },
});

const gunicorn = (worker, extra) => (settings) => [
  PYTHON,
  '/usr/bin/gunicorn',
  `--worker-class=${worker}`,
  '--workers=2',
  ...extra,
  ...settings,
  `--chdir=${SERVERS_DIR}`,
  'wsgi:app',
];
const sync = gunicorn('sync', []);
const gthread = gunicorn('gthread', ['--threads=4']);
export const UVICORN_GRACEFUL = fileURLToPath(new URL('../../examples/uvicorn-graceful.py', import.meta.url));
const uvicorn = (settings, launcher = ['-m', 'uvicorn']) => [
  PYTHON,
  ...launcher,
  '--fd=3',
  '--no-access-log',
  ...settings,
  `--app-dir=${SERVERS_DIR}`,
  'asgi:app',
];

export const CATALOG = {
  'node-http': node('http'),
  express: node('express'),
  fastify: node('fastify'),
  koa: node('koa'),
  hono: node('hono'),
  'gunicorn-sync': {
    needs: ['python'],
    waitsIn: 'select',
    variants: {
      default: { settings: '--workers=2 (sync: one request per connection)', argv: () => sync([]) },
      clean: {
        settings: '--workers=2 --graceful-timeout=10',
        argv: () => sync(['--graceful-timeout=10']),
        clean: true,
      },
    },
  },
  'gunicorn-gthread': {
    needs: ['python'],
    variants: {
      default: { settings: '--workers=2 --threads=4 (keep-alive 2 s)', argv: () => gthread([]) },
      clean: {
        settings: '--workers=2 --threads=4 --keep-alive=0 --graceful-timeout=10',
        argv: () => gthread(['--keep-alive=0', '--graceful-timeout=10']),
        clean: true,
      },
    },
  },
  uvicorn: {
    needs: ['python'],
    variants: {
      default: { settings: 'uvicorn --fd 3', argv: () => uvicorn([]) },
      clean: {
        settings:
          'examples/uvicorn-graceful.py --fd 3: stop accepting, Connection: close, shutdown 1 s later',
        argv: () => uvicorn([], [UVICORN_GRACEFUL]),
        clean: true,
      },
    },
  },
  socketserver: {
    needs: [],
    waitsIn: 'poll',
    variants: {
      default: {
        settings: 'ThreadingHTTPServer, no SIGTERM handler',
        argv: () => [PYTHON, `${SERVERS_DIR}threading_http.py`, 'none'],
      },
      clean: {
        settings: 'shutdown() from a thread on SIGTERM, daemon_threads = False, server_close()',
        argv: () => [PYTHON, `${SERVERS_DIR}threading_http.py`, 'clean'],
        clean: true,
      },
    },
  },
  go: {
    needs: ['go'],
    variants: {
      shutdown: { settings: 'srv.Shutdown on SIGTERM', argv: (ctx) => [ctx.goBin, '-drain=shutdown'] },
      // Diagnostics (run only when named): the same drain, with the old generation stopped when the
      // new one writes READY=1 (--ready=fd) at the moment --ready=auto would see it (the socket set up,
      // before Serve), or 500 ms later.
      'shutdown-ready-fd': {
        settings: 'srv.Shutdown; tsdaemon --ready=fd, READY=1 when the socket is set up',
        argv: (ctx) => [ctx.goBin, '-drain=shutdown', '-ready-after=0s'],
        ready: ['--ready=fd'],
        diagnostic: true,
      },
      'shutdown-ready-late': {
        settings: 'srv.Shutdown; tsdaemon --ready=fd, READY=1 500 ms after the socket is set up',
        argv: (ctx) => [ctx.goBin, '-drain=shutdown', '-ready-after=500ms'],
        ready: ['--ready=fd'],
        diagnostic: true,
      },
      'keepalives-off': {
        settings: 'srv.SetKeepAlivesEnabled(false), then srv.Shutdown',
        argv: (ctx) => [ctx.goBin, '-drain=keepalives-off'],
      },
      clean: {
        settings: 'close the listener, Connection: close on every answer, Shutdown 1 s later',
        argv: (ctx) => [ctx.goBin, '-drain=clean'],
        clean: true,
      },
    },
  },
};
