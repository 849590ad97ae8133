// node:assert as dist/yargs.cjs sees it (scripts/build.mjs): the two functions yargs imports from it, which
// it calls only to check its own invariants and how it is called (never on the command line it parses).
// node:assert itself loads eight of Node's internal modules, ~1.3 MiB of resident memory that would stay
// in the supervisor for good (Node never unloads a built-in module). esbuild fails the build if yargs
// ever imports another name from node:assert.
export function strictEqual(actual, expected, message) {
  if (actual !== expected) throw new Error(message ?? `expected ${String(expected)}, got ${String(actual)}`);
}

export function notStrictEqual(actual, expected, message) {
  if (actual === expected) throw new Error(message ?? `did not expect ${String(actual)}`);
}
