// Soak: 1,000 hot restarts in a row under light keep-alive load (2 connections). Checks what the reliability
// goals ask: 0 failed requests, the supervisor's fd count constant, its RSS growing less than 5 MB (after
// V8's warm-up in the first 20 % of the restarts; the start value is printed too), and
// nothing left below it but the serving child and the death watcher (no orphan, no zombie).
//
//   npm run bench:soak -- [--restarts 1000] [--app node|python]
//
// Prints the numbers and writes docs/bench-soak.json and docs/bench-soak.svg (RSS and restart time over
// the restarts). Not part of `npm test` (test/supervise/soak.test.mjs is the 50-restart version).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { soak } from '../test/helpers/soak.mjs';
import { BIN, Daemon, fixture } from '../test/helpers/tsdaemon.mjs';

const DOCS = fileURLToPath(new URL('../docs/', import.meta.url));
const { values } = parseArgs({
  options: { restarts: { type: 'string', default: '1000' }, app: { type: 'string', default: 'node' } },
});
const restarts = Number(values.restarts);
const app = values.app === 'python' ? [fixture('py-server.py')] : ['node', fixture('env-server.js')];

const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

function svg(samples) {
  const W = 900;
  const H = 260;
  const M = { left: 60, right: 60, top: 30, bottom: 40 };
  const xs = (i) => M.left + (i / Math.max(1, samples.length - 1)) * (W - M.left - M.right);
  const rss = samples.map((s) => s.rssKiB / 1024);
  const ms = samples.slice(1).map((s) => s.ms);
  const [rMin, rMax] = [Math.floor(Math.min(...rss)) - 1, Math.ceil(Math.max(...rss)) + 1];
  const mMax = Math.max(...ms, 1);
  const yR = (v) => H - M.bottom - ((v - rMin) / (rMax - rMin)) * (H - M.top - M.bottom);
  const yM = (v) => H - M.bottom - (v / mMax) * (H - M.top - M.bottom);
  const line = (points, color, width) =>
    `<polyline fill="none" stroke="${color}" stroke-width="${width}" points="${points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}"/>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">
<rect width="${W}" height="${H}" fill="white"/>
<text x="${M.left}" y="18" font-size="14">tsdaemon: supervisor RSS and restart time over ${samples.length - 1} hot restarts under load</text>
${line(
  samples.slice(1).map((s, i) => [xs(i + 1), yM(s.ms)]),
  '#ff7f0e',
  0.6,
)}
${line(
  samples.map((s, i) => [xs(i), yR(s.rssKiB / 1024)]),
  '#1f77b4',
  1.5,
)}
<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="#333"/>
<text x="${M.left - 8}" y="${yR(rMax)}" text-anchor="end" fill="#1f77b4">${rMax} MiB</text>
<text x="${M.left - 8}" y="${yR(rMin)}" text-anchor="end" fill="#1f77b4">${rMin} MiB</text>
<text x="${W - M.right + 8}" y="${yM(mMax)}" fill="#ff7f0e">${Math.round(mMax)} ms</text>
<text x="${W - M.right + 8}" y="${yM(0)}" fill="#ff7f0e">0 ms</text>
<text x="${W / 2}" y="${H - 10}" text-anchor="middle">restart number (blue: RSS of the tsdaemon process; orange: time from SIGHUP until the old generation exited)</text>
</svg>
`;
}

// bin/tsdaemon run as a program, as an operator runs it (its shell launcher gives node its flags).
const daemon = new Daemon([], { prefix: [BIN, '--listen=127.0.0.1:0', '--', ...app], raw: true });
try {
  const port = await daemon.port();
  await daemon.waitFor(/generation 1 ready/);
  const started = performance.now();
  const result = await soak(daemon, port, {
    restarts,
    onSample: (s) => {
      if (s.restart % 100 === 0)
        console.error(`restart ${s.restart}: ${s.fds} fds, ${(s.rssKiB / 1024).toFixed(1)} MiB`);
    },
  });
  // V8 sizes its heap up over the first couple of hundred restarts, then RSS stays flat: the first 20 % are
  // warm-up. A leak shows as growth from the window after it (20-30 %) to the last tenth.
  const tenth = Math.max(1, Math.floor(result.samples.length / 10));
  const early = median(result.samples.slice(2 * tenth, 3 * tenth).map((s) => s.rssKiB)) / 1024;
  const late = median(result.samples.slice(-tenth).map((s) => s.rssKiB)) / 1024;
  const atStart = (result.samples[0]?.rssKiB ?? 0) / 1024;
  const times = result.samples.slice(1).map((s) => s.ms);
  const summary = {
    date: new Date().toISOString(),
    node: process.version,
    app: values.app,
    restarts,
    seconds: Math.round((performance.now() - started) / 1000),
    requests: result.load.ok,
    failed: result.load.failed,
    errors: Object.fromEntries(result.load.errors),
    fdsAfterRestart1: result.samples[1]?.fds,
    fdsAtEnd: result.samples.at(-1)?.fds,
    rssMiBAtStart: Number(atStart.toFixed(1)),
    rssMiBAfterWarmup: Number(early.toFixed(1)),
    rssMiBLastTenth: Number(late.toFixed(1)),
    rssGrowthMiB: Number((late - early).toFixed(1)),
    restartMsMedian: Math.round(median(times)),
    restartMsMax: Math.round(Math.max(...times)),
    processesBelow: result.processes.length,
    zombies: result.zombies.length,
    samples: result.samples,
  };
  const { samples, ...printed } = summary;
  console.log(JSON.stringify(printed, null, 2));
  const verdicts = [
    ['0 failed requests', summary.failed === 0],
    ['fd count constant', summary.fdsAtEnd === summary.fdsAfterRestart1],
    [
      'RSS growth after the warm-up (20-30 % of the restarts to the last 10 %) < 5 MB',
      summary.rssGrowthMiB < 5,
    ],
    [
      'only the child and the death watcher left, no zombie',
      summary.processesBelow === 2 && summary.zombies === 0,
    ],
  ];
  for (const [what, ok] of verdicts) console.log(`${ok ? 'PASS' : 'FAIL'}  ${what}`);
  writeFileSync(`${DOCS}bench-soak.json`, `${JSON.stringify(summary)}\n`);
  writeFileSync(`${DOCS}bench-soak.svg`, svg(samples));
  daemon.signal('SIGTERM');
  await daemon.exited;
  process.exitCode = verdicts.every(([, ok]) => ok) ? 0 : 1;
} finally {
  await daemon.cleanup();
}
