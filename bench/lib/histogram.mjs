// Latency histograms small enough to send every 100 ms and merge afterwards: logarithmic bins 2 % wide
// (a bin index per value in microseconds), kept as a plain object {bin: count} so they survive IPC and JSON.
const LOG_BASE = Math.log(1.02);

export function createHistogram() {
  return { bins: {}, count: 0, maxUs: 0 };
}

export function recordUs(histogram, us) {
  const bin = us < 1 ? 0 : Math.floor(Math.log(us) / LOG_BASE);
  histogram.bins[bin] = (histogram.bins[bin] ?? 0) + 1;
  histogram.count++;
  if (us > histogram.maxUs) histogram.maxUs = us;
}

export function mergeHistograms(histograms) {
  const merged = createHistogram();
  for (const { bins, count, maxUs } of histograms) {
    for (const [bin, n] of Object.entries(bins)) merged.bins[bin] = (merged.bins[bin] ?? 0) + n;
    merged.count += count;
    if (maxUs > merged.maxUs) merged.maxUs = maxUs;
  }
  return merged;
}

/** The q-quantile (0..1) in milliseconds: the middle of its bin, never above the exact maximum. */
export function quantileMs(histogram, q) {
  if (histogram.count === 0) return null;
  const rank = Math.max(1, Math.ceil(q * histogram.count));
  const bins = Object.keys(histogram.bins)
    .map(Number)
    .sort((a, b) => a - b);
  let seen = 0;
  for (const bin of bins) {
    seen += histogram.bins[bin];
    if (seen >= rank) return Math.min(Math.exp((bin + 0.5) * LOG_BASE), histogram.maxUs) / 1000;
  }
  return histogram.maxUs / 1000;
}

export function summarizeHistogram(histogram) {
  return {
    count: histogram.count,
    p50: quantileMs(histogram, 0.5),
    p99: quantileMs(histogram, 0.99),
    max: histogram.count ? histogram.maxUs / 1000 : null,
  };
}
