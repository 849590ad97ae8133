#!/usr/bin/env node
// Builds native/libtsdaemon_bind.so (see tsdaemon_bind.c), the bind shim that lets a server which binds
// its own port take tsdaemon's socket instead. Runs at install time, from build.mjs (or alone). Optional
// like the addon: without a C compiler this prints why and exits 0, and such servers get EADDRINUSE (with
// a line from tsdaemon that says so); `--required` fails instead (CI and the Docker build stage).
// It needs only a C compiler and libc's headers, not Node's.
import { execFileSync } from 'node:child_process';
import { chmodSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const output = join(here, 'libtsdaemon_bind.so');
const required = process.argv.includes('--required');

function fail(reason) {
  const message = `tsdaemon: bind shim not built (${reason}); servers that bind their own port cannot take tsdaemon's socket`;
  if (required) {
    console.error(message);
    process.exit(1);
  }
  console.warn(message);
}

function build() {
  if (process.platform !== 'linux') return fail(`${process.platform} is not linux`);
  const compiler = process.env.CC || 'cc';
  const temporary = `${output}.${process.pid}.tmp`;
  try {
    execFileSync(
      compiler,
      ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-o', temporary, join(here, 'tsdaemon_bind.c'), '-ldl'],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    // Loaded into the child's processes: readable by every user, writable by none but its owner.
    chmodSync(temporary, 0o755);
    renameSync(temporary, output);
  } catch (error) {
    rmSync(temporary, { force: true });
    fail(error.code === 'ENOENT' ? `no C compiler (${compiler})` : `${compiler} failed`);
  }
}

build();
