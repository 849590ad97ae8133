// The bind shim's cost: the start time of a self-binding server with and without
// native/libtsdaemon_bind.so in LD_PRELOAD. Goal: under 5 ms more. Not part of `npm test`.
//
//   npm run bench:bind-shim -- [--rounds 200]
//
// Two servers: bench/apps/bind-start.c (compiled here with cc: socket, bind, listen, exit) and python3
// (`socket.socket().bind(('0.0.0.0', PORT)); listen()`). Each start is one spawnSync, timed from spawn to
// exit. Modes, interleaved round by round:
//   plain      no shim; the server binds a port of its own (what it does without tsdaemon)
//   loaded     the shim and a held socket on fd 3, but the server binds another port (pure loading cost)
//   taken      the shim turns the server's bind() into the held socket on fd 3 (what it does under tsdaemon)
// The held socket is bound and put into LISTEN here, as tsdaemon does (no event loop polls it).
// Writes docs/bench-bind-shim.json.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { median, quantile } from './lib/report.mjs';
import { commit, failed, machine, ROOT, writeResults } from './lib/session.mjs';

const SHIM = join(ROOT, 'native', 'libtsdaemon_bind.so');
const GOAL_MS = 5;
const MODES = ['plain', 'loaded', 'taken'];

async function main() {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '200' } } });
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`--rounds must be an integer ≥ 1, not ${values.rounds}`);
  if (!existsSync(SHIM)) throw new Error(`${SHIM} is missing: node native/build.mjs`);
  const tmp = mkdtempSync(join(tmpdir(), 'tsdaemon-bench-shim-'));
  try {
    const program = join(tmp, 'bind-start');
    execFileSync('cc', ['-O2', '-o', program, join(ROOT, 'bench', 'apps', 'bind-start.c')]);
    const { bindTcp } = await import(join(ROOT, 'dist', 'os', 'socket-handles.js'));
    const addon = createRequire(import.meta.url)(join(ROOT, 'native', 'tsdaemon_native.node'));
    const handle = bindTcp('0.0.0.0', 0, 4, { reuseport: false, ipv6only: false });
    addon.listen(handle.fd, 511);
    const port = handle.local().port;
    const inode = Number(/\d+/.exec(readlinkSync(`/proc/self/fd/${handle.fd}`))[0]);
    const listeners = JSON.stringify([
      { name: 'tcp', fd: 3, kind: 'tcp', inode, host: '0.0.0.0', port, backlog: 511 },
    ]);
    const servers = {
      c: (p) => [program, [String(p)]],
      python3: (p) => [
        '/usr/bin/python3',
        ['-c', `import socket; s = socket.socket(); s.bind(('0.0.0.0', ${p})); s.listen()`],
      ],
    };
    const env = (mode) =>
      mode === 'plain'
        ? { PATH: process.env.PATH }
        : { PATH: process.env.PATH, LD_PRELOAD: SHIM, TSDAEMON_LISTENERS: listeners, LISTEN_FDS: '1' };
    const times = Object.fromEntries(
      Object.keys(servers).map((s) => [s, Object.fromEntries(MODES.map((m) => [m, []]))]),
    );
    for (let round = 0; round < rounds; round++) {
      for (const [name, command] of Object.entries(servers)) {
        for (const mode of MODES) {
          const [file, args] = command(mode === 'taken' ? port : 0);
          const started = process.hrtime.bigint();
          const result = spawnSync(file, args, {
            env: env(mode),
            stdio: ['ignore', 'ignore', 'pipe', handle.fd],
          });
          const ms = Number(process.hrtime.bigint() - started) / 1e6;
          if (result.status !== 0) throw new Error(`${name} ${mode} failed: ${result.stderr}`);
          times[name][mode].push(ms);
        }
      }
    }
    handle.close();
    const summary = {};
    console.log(`start of a self-binding server, ${rounds} rounds, ms (spawn to exit)`);
    console.log('server,mode,median,p90,median - plain');
    for (const [name, byMode] of Object.entries(times)) {
      summary[name] = {};
      const base = median(byMode.plain);
      for (const mode of MODES) {
        const m = median(byMode[mode]);
        summary[name][mode] = {
          medianMs: round3(m),
          p90Ms: round3(quantile(byMode[mode], 0.9)),
          overPlainMs: round3(m - base),
        };
        console.log(
          `${name},${mode},${round3(m)},${round3(quantile(byMode[mode], 0.9))},${round3(m - base)}`,
        );
      }
    }
    const worst = Math.max(
      ...Object.values(summary).flatMap((s) => [s.loaded.overPlainMs, s.taken.overPlainMs]),
    );
    console.log(
      `goal: < ${GOAL_MS} ms more than plain; worst median difference ${worst} ms: ${worst < GOAL_MS ? 'met' : 'MISSED'}`,
    );
    writeResults('bind-shim', { commit: commit(), machine: machine(), rounds, goalMs: GOAL_MS, summary });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const round3 = (value) => Math.round(value * 1000) / 1000;

main().catch(failed('bind-shim'));
