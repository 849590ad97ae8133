// The Node servers of bench:servers, on the socket inherited as fd 3 (LISTEN_FDS=1, as tsdaemon and the
// hand-over harness pass it): node bench/servers/node.mjs FRAMEWORK [DRAIN]
//   FRAMEWORK: http (plain node:http), express, fastify, koa, hono. The frameworks are installed by the
//              bench into a temporary folder, and this file is copied next to their node_modules.
//   DRAIN:     close  (default) what an app does without drain code of its own: server.close() on SIGTERM
//                     (fastify.close() for Fastify), then exit;
//              close-no503  Fastify only: the same with return503OnClosing: false;
//              helper the drain of tsdaemon/app (drain(server)), imported from $BENCH_TSDAEMON_APP.
// GET / answers `hello from pid N` after $BENCH_DELAY_MS ms (default 50).
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

const [framework = 'http', drainMode = 'close'] = process.argv.slice(2);
const DELAY_MS = Number(process.env.BENCH_DELAY_MS ?? 50);
const FD = 3;
if (process.env.LISTEN_FDS !== '1') throw new Error('node.mjs: LISTEN_FDS is not 1 (no socket on fd 3)');
const body = () => `hello from pid ${process.pid}\n`;

async function createServer() {
  if (framework === 'http')
    return {
      server: http.createServer(async (_req, res) => {
        await sleep(DELAY_MS);
        res.setHeader('content-type', 'text/plain');
        res.end(body());
      }),
    };
  if (framework === 'express') {
    const { default: express } = await import('express');
    const app = express();
    app.get('/', async (_req, res) => {
      await sleep(DELAY_MS);
      res.type('text/plain').send(body());
    });
    return { server: http.createServer(app) };
  }
  if (framework === 'koa') {
    const { default: Koa } = await import('koa');
    const app = new Koa();
    app.use(async (ctx) => {
      await sleep(DELAY_MS);
      ctx.body = body();
    });
    return { server: http.createServer(app.callback()) };
  }
  if (framework === 'hono') {
    const { Hono } = await import('hono');
    const { getRequestListener } = await import('@hono/node-server');
    const app = new Hono();
    app.get('/', async (c) => {
      await sleep(DELAY_MS);
      return c.text(body());
    });
    return { server: http.createServer(getRequestListener(app.fetch)) };
  }
  if (framework === 'fastify') {
    // fastify.listen() passes fd on to server.listen(); fastify.close() waits for the server to close
    // only when fastify itself listened (with serverFactory and our own listen() it would not).
    const { default: Fastify } = await import('fastify');
    // By default Fastify answers 503 to every request that comes while it closes, also on a keep-alive
    // connection whose client sent it before it could know.
    const app = Fastify({ return503OnClosing: drainMode !== 'close-no503' });
    app.get('/', async (_req, reply) => {
      await sleep(DELAY_MS);
      reply.type('text/plain').send(body());
    });
    return {
      server: app.server,
      listen: () => app.listen({ fd: FD, host: '127.0.0.1' }),
      close: () => app.close(),
    };
  }
  throw new Error(`node.mjs: unknown framework ${JSON.stringify(framework)}`);
}

const { server, listen = () => server.listen({ fd: FD }), close } = await createServer();
await listen();

let stop;
if (drainMode === 'helper') {
  const { drain } = await import(process.env.BENCH_TSDAEMON_APP);
  stop = () => drain(server);
} else if (drainMode === 'close' || drainMode === 'close-no503') {
  stop = close ?? (() => new Promise((resolve) => server.close(resolve)));
} else throw new Error(`node.mjs: unknown drain ${JSON.stringify(drainMode)}`);
process.once('SIGTERM', () => stop().then(() => process.exit(0)));
