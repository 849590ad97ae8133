// Full garbage collections at the moments the supervisor knows that much of its heap has just become
// garbage: once the first child serves (what only the start needed: yargs above all, src/cli/yargs-loader.ts)
// and, after a generation has exited, when the heap has grown by GROWTH_BYTES since the last collection
// (each child's execa subprocess, streams and promises live as long as the child, long enough to be moved
// to V8's old generation, and are garbage once it exited: ~40 KB per hot restart). Left to itself, V8
// collects the old generation only once it has grown by about 2 MiB plus the young generation's size beyond
// what was live after the last collection: the supervisor's RSS climbed by 4 MiB over the first 200 hot
// restarts before the first such collection (docs/benchmarks.md). Not after every exit: with the flags
// below one full collection of the supervisor's small heap takes 40-100 ms of CPU.
//
// bin/tsdaemon starts node with --expose-gc for this (and --compact-on-every-full-gc, so that the freed
// pages go back to the system); started otherwise there is no gc() and nothing happens. V8 12 and later
// (Node 22+) also shrink the young generation in a "last resort" collection; on V8 11 (Node 20) that one
// keeps about 1 MiB more than a plain one.
type Gc = (options?: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

const gc = (globalThis as { gc?: Gc }).gc;
const lastResort = Number.parseInt(process.versions.v8, 10) >= 12;
const GROWTH_BYTES = 1024 * 1024;
let pending: NodeJS.Timeout | undefined;
let usedAfterLast = 0;

/**
 * Collect in delayMs (once, however often this is called meanwhile); with ifGrown, only if the heap has
 * grown by GROWTH_BYTES since the last collection.
 */
export function collectGarbage(delayMs = 0, { ifGrown = false } = {}): void {
  if (!gc || pending) return;
  pending = setTimeout(() => {
    pending = undefined;
    if (ifGrown && process.memoryUsage().heapUsed < usedAfterLast + GROWTH_BYTES) return;
    if (lastResort) gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    else gc();
    usedAfterLast = process.memoryUsage().heapUsed;
  }, delayMs).unref();
}
