// yargs, loaded for one parse and let go afterwards. tsdaemon parses its command line once, at start, and
// then supervises for months: yargs and everything below it (its parser, cliui, y18n, string-width; about
// a fifth of the CLI's code) need not stay in its memory. So the bundle does not contain yargs:
// scripts/build.mjs makes it a file of its own, dist/yargs.cjs, which this module loads with its code cache
// (src/os/compiled-script.ts) and not through require(), whose cache would keep it. Once doneWithYargs()
// is called and the caller has let go of what it got, nothing refers to that code and the garbage collector
// frees it (src/os/garbage.ts). Run from tsc's output (the tests), there is no dist/yargs.cjs next to this
// module, and it is the package.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type CompiledScript, loadCompiled } from '../os/compiled-script.js';

export type Yargs = typeof import('yargs').default;

let loaded: CompiledScript | undefined;

export async function loadYargs(): Promise<Yargs> {
  const chunk = fileURLToPath(new URL('./yargs.cjs', import.meta.url));
  if (!existsSync(chunk)) return (await import('yargs')).default;
  loaded = loadCompiled(chunk);
  return (loaded.exports as { default: Yargs }).default;
}

/** The parse is over: write yargs' code cache if asked (the supervisor's start), and let go of it. */
export function doneWithYargs({ saveCodeCache }: { saveCodeCache: boolean }): void {
  if (saveCodeCache) loaded?.save();
  loaded = undefined;
}
