// Small C programs for tests, built with the system's cc from test/fixtures into a temporary directory
// (world-readable, so that a test running tsdaemon as nobody can run them too) that goes after the test.
import { execFileSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, tempDir } from './tsdaemon.mjs';

export const hasCc = (() => {
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Test options that skip a test where there is no C compiler. */
export const withCc = { skip: !hasCc && 'needs a C compiler (cc)' };

/** Build test/fixtures/SOURCE (with extra cc flags); returns the program's path. mode: its file mode. */
export function compile(t, source, { flags = [], mode = 0o755 } = {}) {
  const dir = tempDir(t, 'tsdaemon-cc-');
  chmodSync(dir, 0o755);
  const program = join(dir, source.replace(/\.c$/, ''));
  execFileSync('cc', ['-O1', '-Wall', '-o', program, fixture(source), ...flags]);
  chmodSync(program, mode);
  return program;
}
