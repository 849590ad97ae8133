// yargs, loaded for one parse and let go afterwards. tsdaemon parses its command line once, at start, and
// then supervises for months: yargs and everything below it (its parser, cliui, y18n, string-width; about
// a quarter of the CLI's code) need not stay in its memory. So the bundle does not contain yargs:
// scripts/build.mjs makes it a file of its own, dist/yargs.cjs, which this module requires and at once
// drops from require's cache. Once the caller has let go of what it got, nothing refers to that code and
// the garbage collector frees it (src/cli.ts asks for a collection once the first child is ready). Run
// from tsc's output (the tests), there is no dist/yargs.cjs next to this module, and it is the package.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export type Yargs = typeof import('yargs').default;

export async function loadYargs(): Promise<Yargs> {
  const chunk = fileURLToPath(new URL('./yargs.cjs', import.meta.url));
  if (!existsSync(chunk)) return (await import('yargs')).default;
  // A require of its own: the module it loads is recorded as a child of a module object that nothing
  // else refers to, not of the bundle's.
  const require = createRequire(chunk);
  try {
    return (require(chunk) as { default: Yargs }).default;
  } finally {
    delete require.cache[chunk];
  }
}
