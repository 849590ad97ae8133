// Full garbage collections at the moments the supervisor knows that much of its heap has just become
// garbage: once the first child serves (what only the start needed: yargs above all, src/cli/yargs-loader.ts)
// and whenever a generation has exited (its execa subprocess, streams and promises lived as long as the
// child, long enough to be moved to V8's old generation). Left to itself, V8 collects the old generation
// only once it has grown by about 2 MiB plus the young generation's size beyond what was live after the
// last collection: a hot restart leaves ~40 KB there, and the supervisor's RSS climbed by 4 MiB over the
// first 200 restarts before the first such collection (docs/benchmarks.md). A collection of its small heap
// takes a few ms, after the restart is done.
//
// bin/tsdaemon starts node with --expose-gc for this (and --compact-on-every-full-gc, so that the freed
// pages go back to the system); started otherwise there is no gc() and nothing happens. V8 12 and later
// (Node 22+) also shrink the young generation in a "last resort" collection; on V8 11 (Node 20) that one
// keeps about 1 MiB more than a plain one.
type Gc = (options?: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

const gc = (globalThis as { gc?: Gc }).gc;
const lastResort = Number.parseInt(process.versions.v8, 10) >= 12;
let pending: NodeJS.Timeout | undefined;

/** Collect in delayMs (once, however often this is called meanwhile). */
export function collectGarbage(delayMs = 0): void {
  if (!gc || pending) return;
  pending = setTimeout(() => {
    pending = undefined;
    if (lastResort) gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    else gc();
  }, delayMs).unref();
}
