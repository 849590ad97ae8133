// An Express-style app, unmodified: routes on an `app` function and `app.listen(PORT)` at the end, which
// (as in Express) is http.createServer(app).listen(...). Under tsdaemon the preload hands listen() the
// inherited socket and drains the server on SIGTERM; the app knows nothing of it.
//   tsdaemon --listen=:3000 -- node examples/express-style.js
import http from 'node:http';

function createApp() {
  const routes = new Map();
  const app = (req, res) => {
    const handler = routes.get(`${req.method} ${new URL(req.url, 'http://x').pathname}`);
    if (!handler) {
      res.statusCode = 404;
      res.end('not found\n');
      return;
    }
    handler(req, res);
  };
  app.get = (path, handler) => routes.set(`GET ${path}`, handler);
  app.listen = (...args) => http.createServer(app).listen(...args);
  return app;
}

const app = createApp();
app.get('/', (_req, res) => res.end(`express-style app, pid ${process.pid}\n`));
app.get('/health', (_req, res) => res.end('ok\n'));

const port = process.env.PORT || 3000;
app.listen(port, () => console.log(`express-style: listening on ${port}`));
