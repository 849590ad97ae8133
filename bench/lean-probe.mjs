// tsdaemon's own footprint: start to first answered request and the supervisor's RSS, against the bare app.
// Not part of `npm test`. The variants alternate run by run (A, B, C, A, B, C, …) because the machine is
// noisy; medians are reported.
//
//   node bench/lean-probe.mjs [--runs 10] [--variants bare,tsdaemon] [--tsdaemon bin/tsdaemon]
//                             [--app examples/hello.js] [--idle-ms 2000] [--clean-env] [--json]
//
// A variant is "bare", "tsdaemon", or NAME=PATH of another tsdaemon shim (e.g. base=/tmp/old/bin/tsdaemon),
// optionally followed by node flags for the supervisor after spaces ("semi=bin/tsdaemon --max-semi-space-size=1").
// start: from spawn() until the first HTTP response has arrived, polling every 2 ms (a refused connection is
// retried; one that was queued in the backlog waits there, as a real client's would).
// rss: VmRSS of the supervisor (for bare: the app) after it answered and idled --idle-ms.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    variants: { type: 'string', default: 'bare,tsdaemon' },
    tsdaemon: { type: 'string', default: `${ROOT}bin/tsdaemon` },
    app: { type: 'string', default: `${ROOT}examples/hello.js` },
    'idle-ms': { type: 'string', default: '2000' },
    json: { type: 'boolean', default: false },
    // Only PATH in the environment: e.g. NODE_EXTRA_CA_CERTS makes every node process read the CA bundle
    // at boot (~60 ms here), the supervisor's and the app's alike.
    'clean-env': { type: 'boolean', default: false },
  },
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function get(port) {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode === 200));
    });
    request.on('error', () => resolve(false));
    request.setTimeout(5000, () => request.destroy());
  });
}

function rssKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
}

function commandFor(variant, port) {
  if (variant.name === 'bare')
    return { file: process.execPath, args: [values.app], env: { PORT: String(port) } };
  return {
    file: process.execPath,
    args: [...variant.flags, variant.shim, `--listen=127.0.0.1:${port}`, '--', process.execPath, values.app],
    env: {},
  };
}

async function runOnce(variant) {
  const port = await freePort();
  const { file, args, env } = commandFor(variant, port);
  const exited = { done: false };
  const started = performance.now();
  const base = values['clean-env'] ? { PATH: process.env.PATH } : process.env;
  const child = spawn(file, args, { stdio: 'ignore', env: { ...base, ...env } });
  const gone = new Promise((resolve) =>
    child.once('exit', () => {
      exited.done = true;
      resolve();
    }),
  );
  let answered = false;
  while (!answered && !exited.done && performance.now() - started < 10_000) {
    answered = await get(port);
    if (!answered) await sleep(2);
  }
  const startMs = performance.now() - started;
  if (!answered) {
    child.kill('SIGKILL');
    await gone;
    throw new Error(`${variant.name}: no answer (exited: ${exited.done})`);
  }
  await sleep(Number(values['idle-ms']));
  const rss = rssKiB(child.pid) / 1024;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
  return { startMs, rss };
}

const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const variants = values.variants.split(',').map((text) => {
  const at = text.indexOf('=');
  if (at < 0) return { name: text, shim: values.tsdaemon, flags: [] };
  const [shim, ...flags] = text.slice(at + 1).split(' ');
  return { name: text.slice(0, at), shim, flags };
});
const results = Object.fromEntries(variants.map((v) => [v.name, []]));
for (let run = 0; run < Number(values.runs); run++) {
  for (const variant of variants) results[variant.name].push(await runOnce(variant));
}
const bare = results.bare ? median(results.bare.map((r) => r.startMs)) : undefined;
const rows = variants.map(({ name }) => {
  const starts = results[name].map((r) => r.startMs);
  const rss = results[name].map((r) => r.rss);
  return {
    name,
    startMs: median(starts),
    overBareMs: bare === undefined ? undefined : median(starts) - bare,
    startMinMs: Math.min(...starts),
    startMaxMs: Math.max(...starts),
    rssMiB: median(rss),
    rssMaxMiB: Math.max(...rss),
  };
});
if (values.json) console.log(JSON.stringify({ rows, results }, null, 2));
else {
  console.log('variant        start ms (min–max)      over bare   RSS MiB (max)');
  for (const r of rows) {
    const over =
      r.overBareMs === undefined ? '' : `${r.overBareMs >= 0 ? '+' : ''}${r.overBareMs.toFixed(0)}`;
    const start = `${r.startMs.toFixed(0).padStart(5)} (${r.startMinMs.toFixed(0)}–${r.startMaxMs.toFixed(0)})`;
    const rss = `${r.rssMiB.toFixed(1)} (${r.rssMaxMiB.toFixed(1)})`;
    console.log(`${r.name.padEnd(14)} ${start.padEnd(23)} ${over.padStart(6)}      ${rss}`);
  }
}
