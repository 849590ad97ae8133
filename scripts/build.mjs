#!/usr/bin/env node
// `npm run build`: type-check and compile src/ with tsc (dist/**/*.js and .d.ts: the app helper that apps
// import, and the modules the tests import), then bundle with esbuild what tsdaemon loads at run time:
//   dist/tsdaemon.cjs      the whole CLI in one CommonJS file (entry src/main.ts), dependencies included
//                          but yargs;
//   dist/control.cjs       the control commands (status, reload, stop; entry src/control-main.ts);
//   dist/yargs.cjs         yargs with its dependencies, loaded for the parse and let go afterwards
//                          (src/cli/yargs-loader.ts);
//   dist/launch.cjs        what bin/tsdaemon runs: the check as root, then the bundle with its code cache;
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
 * string-width (three copies below yargs: cliui's, wrap-ansi's and yargs' own) does expensive work as soon
 * as it is loaded, whether or not any text is ever measured: every copy creates an Intl.Segmenter (~2.5 MiB
 * of resident memory for ICU's break iterator), and yargs' copy compiles /^\p{RGI_Emoji}$/v (~35 ms: V8
 * builds the set of every emoji sequence). yargs measures text only to lay out --help, so in dist/yargs.cjs
 * both are made on first use. Each replacement must be found, or the build fails: a new string-width must
 * not lose the saving unnoticed.
 */
const LAZY_STRING_WIDTH = [
  {
    eager: 'const segmenter = new Intl.Segmenter();',
    lazy: 'let eagerSegmenter; const segmenter = { segment: (text) => (eagerSegmenter ??= new Intl.Segmenter()).segment(text) };',
    files: 0,
  },
  {
    eager: 'const rgiEmojiRegex = /^\\p{RGI_Emoji}$/v;',
    lazy: 'let eagerRgiEmoji; const rgiEmojiRegex = { test: (text) => (eagerRgiEmoji ??= /^\\p{RGI_Emoji}$/v).test(text) };',
    files: 0,
  },
];

const lazyStringWidth = {
  name: 'lazy-string-width',
  setup(esbuild) {
    esbuild.onLoad({ filter: /[\\/]node_modules[\\/]string-width[\\/]index\.js$/ }, ({ path }) => {
      let source = readFileSync(path, 'utf8');
      for (const change of LAZY_STRING_WIDTH) {
        if (!source.includes(change.eager)) continue;
        source = source.replace(change.eager, change.lazy);
        change.files++;
      }
      return { contents: source, loader: 'js' };
    });
    esbuild.onEnd(() => {
      const missing = LAZY_STRING_WIDTH.filter((change) => change.files === 0).map((change) => change.eager);
      if (missing.length > 0) throw new Error(`string-width: not found to make lazy: ${missing.join(' ')}`);
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
  // import() of a built-in module as require(): src/os/compiled-script.ts compiles the bundles with vm,
  // where import() would need a loader of its own.
  supported: { 'dynamic-import': false },
  minifySyntax: true,
};

/** src/paths.ts finds the package's files from import.meta.url: in CommonJS, the bundle's own URL. */
const importMetaUrl = {
  define: { 'import.meta.url': 'importMetaUrl' },
  inject: [join(ROOT, 'scripts/import-meta-url.mjs')],
};

/**
 * The CLI bundle is a production build, as bundles are: winston's @dabh/diagnostics (its own debug output
 * under DEBUG=winston:*, the one dependency that reads NODE_ENV) is then its no-op build, instead of one
 * that loads a colour library and works out the terminal's colours at every start (~10 ms, 0.6 MiB).
 */
const production = { define: { 'process.env.NODE_ENV': '"production"' } };

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
  bundle('src/main.ts', 'tsdaemon.cjs', {
    ...importMetaUrl,
    define: { ...importMetaUrl.define, ...production.define },
    plugins: [yargsApart],
  }),
  bundle('src/control-main.ts', 'control.cjs', {
    ...importMetaUrl,
    define: { ...importMetaUrl.define, ...production.define },
    plugins: [yargsApart],
  }),
  bundle({ contents: "export { default } from 'yargs';", resolveDir: ROOT, loader: 'js' }, 'yargs.cjs', {
    ...importMetaUrl,
    plugins: [lazyStringWidth, assertLite],
  }),
  bundle('src/launch.ts', 'launch.cjs'),
  bundle('src/preload/index.ts', 'preload.cjs', importMetaUrl),
]);
