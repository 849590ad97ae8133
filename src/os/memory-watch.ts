// --max-memory: sample the serving child's RSS with pidusage once a second; over the limit, ask for a hot
// restart (the successor starts first, then the big one drains: no request is lost, unlike a kill).
// pidusage is loaded only when --max-memory is set, and with maxage so it does not keep /proc/PID/stat
// open for 60 s per pid (node-notes.md).

export const MEMORY_SAMPLE_MS = 1000;

export interface MemoryWatchOptions {
  limitBytes: number;
  /** The generation serving now, if any. */
  serving: () => { gen: number; pid: number } | undefined;
  onOver: (gen: number, rssBytes: number) => void;
}

export function watchMemory(options: MemoryWatchOptions): () => void {
  let busy = false;
  const timer = setInterval(async () => {
    const current = options.serving();
    if (!current || busy) return;
    busy = true;
    try {
      const { default: pidusage } = await import('pidusage');
      const { memory } = await pidusage(current.pid, { maxage: 2 * MEMORY_SAMPLE_MS });
      if (memory > options.limitBytes) options.onOver(current.gen, memory);
    } catch {
      // The child just exited: nothing to measure.
    } finally {
      busy = false;
    }
  }, MEMORY_SAMPLE_MS);
  timer.unref();
  return () => clearInterval(timer);
}
