#!/usr/bin/env node
// Builds native/tsdaemon_native.node (see tsdaemon_native.c) with the system's C compiler against the
// Node-API headers of the node-api-headers package (a dependency), so a C compiler is all it needs: no
// Node headers, no Python, no node-gyp. Node-API is a stable ABI, so these headers build an addon that
// loads in every Node version the package supports. Runs at install time. The addon is optional: when
// there is no compiler, this prints why and exits 0, and tsdaemon works without sd_notify and PID-1
// zombie reaping. `node native/build.mjs --required` fails instead (CI and the Docker build stage use it).
// The bind shim is a target of its own (needs no Node headers): built first, whatever happens below.
import './build-shim.mjs';
import { execFileSync } from 'node:child_process';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const output = join(here, 'tsdaemon_native.node');
const required = process.argv.includes('--required');

function shippedHeaders() {
  try {
    return createRequire(import.meta.url)('node-api-headers').include_dir;
  } catch {
    return undefined;
  }
}

function headerDirectory() {
  const candidates = [
    shippedHeaders(),
    // Without the package (a copy of native/ outside an npm install): Node's own headers, if installed.
    process.env.npm_config_nodedir && join(process.env.npm_config_nodedir, 'include', 'node'),
    join(dirname(process.execPath), '..', 'include', 'node'),
    '/usr/local/include/node',
    '/usr/include/node',
  ];
  return candidates.find((dir) => dir && existsSync(join(dir, 'node_api.h')));
}

function fail(reason) {
  const message = `tsdaemon: native addon not built (${reason}); sd_notify and PID-1 zombie reaping are unavailable`;
  if (required) {
    console.error(message);
    process.exit(1);
  }
  console.warn(message);
  process.exit(0);
}

if (process.platform !== 'linux') fail(`${process.platform} is not linux`);
const include = headerDirectory();
if (!include)
  fail(
    "the Node-API headers (node_api.h) were not found; run 'npm install' (package node-api-headers) or set npm_config_nodedir",
  );
const compiler = process.env.CC || 'cc';
const temporary = `${output}.${process.pid}.tmp`;
try {
  execFileSync(
    compiler,
    [
      '-shared',
      '-fPIC',
      '-O2',
      '-Wall',
      '-Wextra',
      `-I${include}`,
      '-o',
      temporary,
      join(here, 'tsdaemon_native.c'),
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  renameSync(temporary, output);
} catch (error) {
  rmSync(temporary, { force: true });
  fail(error.code === 'ENOENT' ? `no C compiler (${compiler})` : `${compiler} failed`);
}
