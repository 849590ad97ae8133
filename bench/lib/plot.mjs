// Hand-written SVG. plotSvg (bench:restart): one panel per round, p99 latency per 100 ms bucket over time
// (log scale) for every system, restarts as a dashed line where the restart was sent and a band until it
// was done, and a red mark above every bucket with failed requests. plotXY (bench:scale): small x/y charts.
import { quantileMs } from './histogram.mjs';
import { BUCKET_MS } from './load.mjs';
import { median } from './report.mjs';

const WIDTH = 960;
const PANEL_HEIGHT = 250;
const MARGIN = { left: 64, right: 190, top: 34, bottom: 40 };
const COLORS = { tsdaemon: '#1f77b4', pm2: '#ff7f0e' };
const ERROR_COLOR = '#d62728';

const escapeXml = (text) => String(text).replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
const fixed = (value) => Number(value.toFixed(1));
const failedIn = (bucket) => Object.values(bucket.errors).reduce((sum, n) => sum + n, 0);

function logTicks(min, max) {
  const ticks = [];
  for (let decade = Math.floor(Math.log10(min)); decade <= Math.ceil(Math.log10(max)); decade++)
    for (const step of [1, 2, 5]) {
      const value = step * 10 ** decade;
      if (value >= min && value <= max) ticks.push(value);
    }
  return ticks;
}

function panel(runs, { top, round, xMaxS, yMin, yMax }) {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const y0 = top + MARGIN.top;
  const x = (ms) => fixed(MARGIN.left + (ms / 1000 / xMaxS) * plotW);
  const y = (v) => fixed(y0 + plotH - (Math.log(v / yMin) / Math.log(yMax / yMin)) * plotH);
  const out = [`<text x="${MARGIN.left}" y="${top + 20}" class="title">round ${round}</text>`];
  out.push(`<rect x="${MARGIN.left}" y="${y0}" width="${plotW}" height="${plotH}" class="frame"/>`);
  for (const tick of logTicks(yMin, yMax))
    out.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y(tick)}" y2="${y(tick)}" class="grid"/>`,
      `<text x="${MARGIN.left - 6}" y="${y(tick) + 4}" text-anchor="end">${tick}</text>`,
    );
  const xStep = xMaxS > 20 ? 5 : xMaxS > 8 ? 2 : 1;
  for (let s = 0; s <= xMaxS; s += xStep)
    out.push(`<text x="${x(s * 1000)}" y="${y0 + plotH + 16}" text-anchor="middle">${s}</text>`);
  out.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${y0 + plotH + 34}" text-anchor="middle">seconds of load</text>`,
  );
  out.push(
    `<text transform="translate(16 ${y0 + plotH / 2}) rotate(-90)" text-anchor="middle">p99 latency, ms</text>`,
  );
  runs.forEach((run, i) => {
    const color = COLORS[run.system] ?? '#555';
    for (const r of run.restarts) {
      const width = Math.max(1, x(r.doneMs) - x(r.sentMs));
      out.push(
        `<rect x="${x(r.sentMs)}" y="${y0}" width="${fixed(width)}" height="${plotH}" fill="${color}" opacity="0.15"><title>${escapeXml(`${run.system} restart: ${Math.round(r.doneMs - r.sentMs)} ms`)}</title></rect>`,
        `<line x1="${x(r.sentMs)}" x2="${x(r.sentMs)}" y1="${y0}" y2="${y0 + plotH}" stroke="${color}" class="restart"/>`,
      );
    }
    let path = '';
    let pen = 'M';
    for (const bucket of run.buckets) {
      const p99 = quantileMs(bucket.latency, 0.99);
      if (p99 === null) {
        pen = 'M';
        continue;
      }
      path += `${pen}${x((bucket.index + 0.5) * BUCKET_MS)} ${y(Math.min(Math.max(p99, yMin), yMax))} `;
      pen = 'L';
    }
    out.push(`<path d="${path.trim()}" stroke="${color}" class="series"/>`);
    for (const bucket of run.buckets) {
      if (!failedIn(bucket)) continue;
      const cx = x((bucket.index + 0.5) * BUCKET_MS);
      const codes = Object.entries(bucket.errors).map(([code, n]) => `${code} ${n}`);
      out.push(
        `<path d="M${cx - 4} ${y0 - 8 - i * 9} L${cx + 4} ${y0 - 8 - i * 9} L${cx} ${y0 - 1 - i * 9} Z" fill="${ERROR_COLOR}"><title>${escapeXml(`${run.system}: ${codes.join(', ')}`)}</title></path>`,
      );
    }
    const legendY = y0 + 14 + i * 36;
    const failed = run.buckets.reduce((sum, bucket) => sum + failedIn(bucket), 0);
    const restartMs = median(run.restarts.map((r) => r.doneMs - r.sentMs));
    const restartText = restartMs === null ? '' : `, restart ${Math.round(restartMs)} ms`;
    out.push(
      `<line x1="${WIDTH - MARGIN.right + 12}" x2="${WIDTH - MARGIN.right + 32}" y1="${legendY}" y2="${legendY}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${WIDTH - MARGIN.right + 38}" y="${legendY + 4}">${escapeXml(run.system)}</text>`,
      `<text x="${WIDTH - MARGIN.right + 38}" y="${legendY + 18}" class="small">${failed} failed${restartText}</text>`,
    );
  });
  return out.join('\n');
}

/** The SVG document for all runs (those with buckets), grouped by round. */
export function plotSvg(runs) {
  const rounds = [...new Set(runs.map((run) => run.round))];
  const p99s = runs.flatMap((run) =>
    run.buckets.map((b) => quantileMs(b.latency, 0.99)).filter((v) => v !== null),
  );
  const yMin = 10 ** Math.floor(Math.log10(Math.max(0.01, Math.min(...p99s))));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(yMin * 10, ...p99s)));
  const ends = runs.flatMap((run) => [run.loadMs, ...run.buckets.map((b) => (b.index + 1) * BUCKET_MS)]);
  const xMaxS = Math.max(...ends) / 1000;
  const height = PANEL_HEIGHT * rounds.length + 30;
  const panels = rounds.map((round, i) =>
    panel(
      runs.filter((run) => run.round === round),
      { top: i * PANEL_HEIGHT, round, xMaxS, yMin, yMax },
    ),
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">
<style>
  .title { font-weight: bold; font-size: 14px; }
  .small { font-size: 10px; fill: #555; }
  .frame { fill: #fff; stroke: #999; }
  .grid { stroke: #e5e5e5; }
  .series { fill: none; stroke-width: 1.5; }
  .restart { stroke-dasharray: 4 3; stroke-width: 1; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
${panels.join('\n')}
<text x="${MARGIN.left}" y="${height - 8}" class="small">p99 of each ${BUCKET_MS} ms bucket; dashed line = restart sent (SIGHUP / pm2 reload), band = until done; ▼ = bucket with failed requests</text>
</svg>
`;
}

const XY = { width: 460, height: 300, left: 60, right: 16, top: 30, bottom: 44 };
const SERIES_COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b'];

function niceMax(value) {
  if (!(value > 0)) return 1;
  const step = 10 ** Math.floor(Math.log10(value));
  return [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].map((m) => m * step).find((v) => v >= value);
}

/**
 * One x/y chart: every measured point as a dot, and a line through the median at each x (`line: 'median'`,
 * the default) or through the points in order (`line: 'points'`, e.g. a cumulative curve). `logX` spaces
 * x values such as 1, 4, 16 evenly. Returns SVG elements placed at (left, top).
 */
function xyPanel({ title, xLabel, yLabel, series, logX = false, line = 'median' }, left, top) {
  const w = XY.width - XY.left - XY.right;
  const h = XY.height - XY.top - XY.bottom;
  const x0 = left + XY.left;
  const y0 = top + XY.top;
  const xs = series.flatMap((s) => s.points.map(([x]) => x));
  const ys = series.flatMap((s) => s.points.map(([, y]) => y));
  const [xMin, xMax] = logX ? [Math.min(...xs), Math.max(...xs)] : [0, niceMax(Math.max(...xs))];
  const yMax = niceMax(Math.max(...ys));
  const tx = (v) => fixed(x0 + (logX ? Math.log(v / xMin) / Math.log(xMax / xMin || 2) : v / xMax) * w);
  const ty = (v) => fixed(y0 + h - (v / yMax) * h);
  const out = [
    `<text x="${x0}" y="${top + 18}" class="title">${escapeXml(title)}</text>`,
    `<rect x="${x0}" y="${y0}" width="${w}" height="${h}" class="frame"/>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    out.push(
      `<line x1="${x0}" x2="${x0 + w}" y1="${ty(v)}" y2="${ty(v)}" class="grid"/>`,
      `<text x="${x0 - 6}" y="${ty(v) + 4}" text-anchor="end">${Number(v.toPrecision(3))}</text>`,
    );
  }
  const xTicks = logX ? [...new Set(xs)].sort((a, b) => a - b) : [0, 1, 2, 3, 4].map((i) => (xMax * i) / 4);
  for (const v of xTicks)
    out.push(`<text x="${tx(v)}" y="${y0 + h + 16}" text-anchor="middle">${Number(v.toPrecision(3))}</text>`);
  out.push(
    `<text x="${x0 + w / 2}" y="${y0 + h + 34}" text-anchor="middle">${escapeXml(xLabel)}</text>`,
    `<text transform="translate(${left + 14} ${y0 + h / 2}) rotate(-90)" text-anchor="middle">${escapeXml(yLabel)}</text>`,
  );
  // The legend goes last, on a white box, so no line runs through it.
  const legend = [];
  const legendW = 40 + 6.5 * Math.max(...series.map((s) => s.name.length));
  legend.push(
    `<rect x="${x0 + 4}" y="${y0 + 4}" width="${fixed(legendW)}" height="${series.length * 16 + 6}" fill="#fff" opacity="0.85"/>`,
  );
  series.forEach((s, i) => {
    const color = SERIES_COLORS[i % SERIES_COLORS.length];
    let path = s.points;
    if (line === 'median') {
      const at = [...new Set(s.points.map(([x]) => x))].sort((a, b) => a - b);
      path = at.map((x) => [x, median(s.points.filter(([px]) => px === x).map(([, y]) => y))]);
      for (const [x, y] of s.points)
        out.push(`<circle cx="${tx(x)}" cy="${ty(y)}" r="2.5" fill="${color}" opacity="0.6"/>`);
    }
    out.push(
      `<path d="${path.map(([x, y], k) => `${k ? 'L' : 'M'}${tx(x)} ${ty(y)}`).join(' ')}" stroke="${color}" class="series"/>`,
    );
    legend.push(
      `<line x1="${x0 + 10}" x2="${x0 + 28}" y1="${y0 + 14 + i * 16}" y2="${y0 + 14 + i * 16}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${x0 + 32}" y="${y0 + 18 + i * 16}">${escapeXml(s.name)}</text>`,
    );
  });
  out.push(...legend);
  return out.join('\n');
}

/** An SVG document of x/y charts (see xyPanel), two per row, with a note under them. */
export function plotXY(panels, note = '') {
  const columns = Math.min(2, panels.length);
  const rows = Math.ceil(panels.length / columns);
  const width = XY.width * columns;
  const height = XY.height * rows + (note ? 24 : 0);
  const body = panels.map((p, i) =>
    xyPanel(p, (i % columns) * XY.width, Math.floor(i / columns) * XY.height),
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">
<style>
  .title { font-weight: bold; font-size: 13px; }
  .small { font-size: 10px; fill: #555; }
  .frame { fill: #fff; stroke: #999; }
  .grid { stroke: #e5e5e5; }
  .series { fill: none; stroke-width: 1.5; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
${body.join('\n')}
${note ? `<text x="8" y="${height - 8}" class="small">${escapeXml(note)}</text>` : ''}
</svg>
`;
}
