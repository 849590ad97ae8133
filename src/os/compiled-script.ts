// Loading one of tsdaemon's CommonJS bundles (dist/*.cjs) with a V8 code cache: V8 then deserializes the
// compiled functions instead of parsing and compiling ~1 MB of JavaScript at every start (about 40 ms of
// the start on these machines; docs/benchmarks.md). Node's own require() has no such cache before Node 22
// (module.enableCompileCache), so the file is compiled here the way require() compiles it (Module.wrap,
// then called with exports, require, module, __filename, __dirname).
//
// The cache is a file next to the bundle, dist/cache/NAME.NODE-VERSION-ARCH-FLAGS.jsc: V8 accepts a cache
// only from the same V8 version and flags and for the same source, and rejects it otherwise (it is then
// compiled as without one and the file written again). It is written once the code has run (save()), so
// that it holds the functions the start needed too, to a temporary name first and renamed into place. It
// is code: only where the bundle's own directory is (the install is checked as root by
// src/os/privilege/trusted-code.ts, which covers dist/cache), written with mode 0644 and never through a directory
// another user can change; when dist/ cannot be written (a root-owned install run by another user), there
// is simply no cache.
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { basename, dirname, join } from 'node:path';
import { Script } from 'node:vm';

export interface CompiledScript {
  exports: unknown;
  /** Write the code cache if there was none or V8 rejected it. Never throws. */
  save(): void;
}

/** FNV-1a of text, as 8 hex digits: a short tag for node's flags in the cache file's name. */
function shortHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}

export function cachePathFor(file: string): string {
  const tag = `${process.version}-${process.arch}-${shortHash(process.execArgv.join(' '))}`;
  return join(dirname(file), 'cache', `${basename(file, '.cjs')}.${tag}.jsc`);
}

function readCache(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/** A directory is safe to write code into when only its owner may write it and that owner is us. */
function ownSafeDirectory(dir: string): boolean {
  const { uid, mode } = statSync(dir);
  return uid === process.geteuid?.() && (mode & 0o022) === 0;
}

function writeCache(path: string, data: Buffer): void {
  const dir = dirname(path);
  if (!existsSync(dir)) mkdirSync(dir, { mode: 0o755 });
  if (!ownSafeDirectory(dir) || !ownSafeDirectory(dirname(dir))) return;
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, data, { mode: 0o644 });
  renameSync(temporary, path);
}

/** Compile and run the CommonJS file at file (an absolute path) with its code cache. */
export function loadCompiled(file: string): CompiledScript {
  const cachePath = cachePathFor(file);
  const cachedData = readCache(cachePath);
  const script = new Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
  const module = new Module(file);
  module.filename = file;
  module.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(
    dirname(file),
  );
  const require = Module.createRequire(file);
  (script.runInThisContext() as (...args: unknown[]) => void).call(
    module.exports,
    module.exports,
    require,
    module,
    file,
    dirname(file),
  );
  let saved = cachedData !== undefined && script.cachedDataRejected !== true;
  return {
    exports: module.exports,
    save() {
      if (saved) return;
      saved = true;
      try {
        writeCache(cachePath, script.createCachedData());
      } catch {
        // A read-only install, a full disk: the next start compiles again.
      }
    },
  };
}
