// --max-memory: sample the RSS of each serving child with pidusage once a second; over the limit, ask for a
// hot restart (the successor starts first, then the big one drains: no request is lost, unlike a kill).
// pidusage is loaded only when --max-memory is set, and with maxage so it does not keep /proc/PID/stat
// open for 60 s per pid.

export const MEMORY_SAMPLE_MS = 1000;

export interface MemoryWatchOptions<T extends { pid: number }> {
  limitBytes: number;
  /** The children serving now (one per worker). */
  serving: () => T[];
  onOver: (child: T, rssBytes: number) => void;
}

export function watchMemory<T extends { pid: number }>(options: MemoryWatchOptions<T>): () => void {
  let busy = false;
  const timer = setInterval(async () => {
    const children = options.serving();
    if (children.length === 0 || busy) return;
    busy = true;
    try {
      const { default: pidusage } = await import('pidusage');
      for (const child of children) {
        try {
          const { memory } = await pidusage(child.pid, { maxage: 2 * MEMORY_SAMPLE_MS });
          if (memory > options.limitBytes) options.onOver(child, memory);
        } catch {
          // The child just exited: nothing to measure.
        }
      }
    } finally {
      busy = false;
    }
  }, MEMORY_SAMPLE_MS);
  timer.unref();
  return () => clearInterval(timer);
}
