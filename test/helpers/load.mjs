// A bounded keep-alive HTTP load on loopback: `connections` clients each send requests back to back on
// a kept-alive socket until stop() is called. Every failure (reset, refused, timeout, non-200) is counted
// with its reason, so a test can assert there were none.
import http from 'node:http';

export function startLoad({ port, host = '127.0.0.1', path = '/', connections = 8, timeoutMs = 10_000 }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const stats = { ok: 0, failed: 0, errors: new Map(), pids: new Set(), latencies: [] };
  let running = true;
  const fail = (reason) => {
    stats.failed++;
    stats.errors.set(reason, (stats.errors.get(reason) ?? 0) + 1);
  };
  const one = () =>
    new Promise((resolve) => {
      const started = performance.now();
      const req = http.get({ host, port, path, agent, timeout: timeoutMs }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => {
          if (res.statusCode === 200) {
            stats.ok++;
            stats.latencies.push(performance.now() - started);
            const pid = /pid[":\s]+(\d+)/.exec(body)?.[1];
            if (pid) stats.pids.add(Number(pid));
          } else fail(`status ${res.statusCode}`);
          resolve();
        });
        res.on('error', (error) => {
          fail(error.code ?? error.message);
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (error) => {
        fail(error.code ?? error.message);
        resolve();
      });
    });
  const loops = Array.from({ length: connections }, async () => {
    while (running) await one();
  });
  return {
    stats,
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return stats;
    },
  };
}
