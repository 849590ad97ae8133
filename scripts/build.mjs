#!/usr/bin/env node
// `npm run build`: type-check and compile src/ with tsc (dist/**/*.js and .d.ts: the app helper that apps
// import, and the modules the tests import), then bundle with esbuild what tsdaemon loads at run time:
//   dist/tsdaemon.cjs      the whole CLI in one CommonJS file (entry src/main.ts), dependencies included
//                          but yargs;
//   dist/yargs.cjs         yargs with its dependencies, loaded for the parse and let go afterwards
//                          (src/cli/yargs-loader.ts);
//   dist/trusted-code.cjs  the check bin/tsdaemon runs as root before it loads anything else;
//   dist/preload.cjs       the preload every Node child gets through NODE_OPTIONS=--require.
// CommonJS because a process whose code is all CommonJS never starts Node's ESM loader: about 2 MiB of
// resident memory and several ms per start, for tsdaemon and for every child (docs/benchmarks.md).
//
//   node scripts/build.mjs [--no-tsc] [--metafile]
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const args = process.argv.slice(2);

/**
 * string-width (three copies, all below yargs: cliui, wrap-ansi and yargs itself) creates an
 * Intl.Segmenter as soon as it is loaded, which costs ~2.5 MiB of resident memory for ICU's break
 * iterator whether or not any text is ever measured. yargs only measures text when it lays out --help,
 * so the bundle creates the segmenter on first use instead. The build fails if the line is not found (a
 * new string-width), so that the saving cannot disappear unnoticed.
 */
const lazySegmenter = {
  name: 'lazy-segmenter',
  setup(esbuild) {
    esbuild.onLoad({ filter: /[\\/]node_modules[\\/]string-width[\\/]index\.js$/ }, ({ path }) => {
      const source = readFileSync(path, 'utf8');
      const eager = 'const segmenter = new Intl.Segmenter();';
      if (!source.includes(eager)) throw new Error(`${path}: no '${eager}' to make lazy`);
      const lazy =
        'let eagerSegmenter; const segmenter = { segment: (text) => (eagerSegmenter ??= new Intl.Segmenter()).segment(text) };';
      return { contents: source.replace(eager, lazy), loader: 'js' };
    });
  },
};

/**
 * What every bundle shares: Node 20 CommonJS, no comments kept, syntax minified. Not whitespace: Node prints
 * the source line of an uncaught error, which would then be the whole bundle.
 */
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  legalComments: 'none',
  minifySyntax: true,
};

/** src/paths.ts finds the package's files from import.meta.url: in CommonJS, the bundle's own URL. */
const importMetaUrl = {
  define: { 'import.meta.url': 'importMetaUrl' },
  inject: [join(ROOT, 'scripts/import-meta-url.mjs')],
};

/**
 * V8 keeps a script's source in memory as long as its functions live, and a source with a single character
 * outside Latin-1 is stored with two bytes per character: 2 MiB instead of 1 for the CLI. esbuild escapes
 * such characters in strings but leaves them in the comments it keeps (winston has an en dash in one), so
 * every one left is escaped here; \uXXXX is harmless in a comment and means the same in a string or regexp.
 */
function asciiOnly(text) {
  return text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** yargs' node:assert is scripts/assert-lite.mjs (it says why). */
const assertLite = {
  name: 'assert-lite',
  setup(esbuild) {
    esbuild.onResolve({ filter: /^(node:)?assert$/ }, () => ({
      path: join(ROOT, 'scripts/assert-lite.mjs'),
    }));
  },
};

/** The CLI bundle leaves yargs out: src/cli/yargs-loader.ts loads dist/yargs.cjs instead. */
const yargsApart = {
  name: 'yargs-apart',
  setup(esbuild) {
    esbuild.onResolve({ filter: /^yargs$/ }, () => ({ path: 'yargs', external: true }));
  },
};

async function bundle(entry, outfile, extra = {}) {
  const path = join(DIST, outfile);
  const result = await build({
    ...common,
    ...(typeof entry === 'string' ? { entryPoints: [join(ROOT, entry)] } : { stdin: entry }),
    outfile: path,
    metafile: args.includes('--metafile'),
    ...extra,
  });
  writeFileSync(path, asciiOnly(readFileSync(path, 'utf8')));
  if (result.metafile) writeFileSync(`${path}.meta.json`, JSON.stringify(result.metafile));
}

// A clean dist/: a file left from an older build (dist/tsdaemon.mjs) must not be loaded or checked.
rmSync(DIST, { recursive: true, force: true });
if (!args.includes('--no-tsc')) {
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}
await Promise.all([
  bundle('src/main.ts', 'tsdaemon.cjs', { ...importMetaUrl, plugins: [yargsApart] }),
  bundle({ contents: "export { default } from 'yargs';", resolveDir: ROOT, loader: 'js' }, 'yargs.cjs', {
    ...importMetaUrl,
    plugins: [lazySegmenter, assertLite],
  }),
  bundle('src/os/trusted-code.ts', 'trusted-code.cjs'),
  bundle('src/preload/index.ts', 'preload.cjs'),
]);
