// `npm run bench`: every benchmark in turn with modest settings (about 4 minutes on 2 cores, plus the
// servers), sharing one pm2 install. Without the npm registry the PM2 systems (and the Node frameworks of
// bench:servers) are left out. Each writes its own
// docs/bench-<name>.json; run one alone with `npm run bench:<name> -- [options]` for other settings.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installPm2 } from './lib/pm2-system.mjs';

const BENCH = fileURLToPath(new URL('./', import.meta.url));
const PLAN = [
  { name: 'restart', args: ['--restarts', '5', '--rounds', '1'], withoutPm2: ['--systems', 'tsdaemon'] },
  {
    name: 'throughput',
    args: ['--rounds', '5', '--duration', '3', '--warmup', '1'],
    withoutPm2: ['--systems', 'bare,tsdaemon,tsdaemon-w2'],
  },
  { name: 'footprint', args: ['--rounds', '4'], withoutPm2: ['--systems', 'bare,tsdaemon,idle-node'] },
  { name: 'scale', args: ['--rounds', '2', '--drain-rounds', '1'], withoutPm2: [] },
  { name: 'zombies', args: ['--seconds', '5', '--rounds', '2'], withoutPm2: [] },
  // The clean drains only (each server's `clean` variant, the Node frameworks with tsdaemon/app's drain);
  // `npm run bench:servers` alone also runs them without.
  { name: 'servers', args: ['--variants', 'helper,clean', '--restarts', '3'], withoutPm2: [] },
  // Last: the footprint goals against an idle node and the bare app, with 1,000 hot restarts (~11 min).
  { name: 'goals', args: ['--rounds', '5'], withoutPm2: [] },
];

function runScript({ name, args }, env) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [join(BENCH, `${name}.mjs`), ...args], { env, stdio: 'inherit' });
    child.on('exit', (code, signal) =>
      resolve({ name, code: code ?? signal, seconds: (performance.now() - started) / 1000 }),
    );
  });
}

async function main() {
  const tmp = mkdtempSync(join(os.tmpdir(), 'tsdaemon-bench-all-'));
  const results = [];
  try {
    let env = process.env;
    let pm2;
    try {
      console.error('installing pm2@latest into a temporary folder (shared by the benchmarks) …');
      pm2 = await installPm2(join(tmp, 'pm2'));
      console.error(`pm2 ${pm2.version} installed in ${Math.round(pm2.installMs)} ms`);
      env = { ...process.env, BENCH_PM2_PREFIX: pm2.prefix };
    } catch (error) {
      console.error(`no pm2 (${error.message.split('\n')[0]}): the PM2 systems are left out`);
    }
    for (const step of PLAN) {
      const args = pm2 ? step.args : [...step.args, ...step.withoutPm2];
      console.error(`\n=== bench:${step.name} ${args.join(' ')} ===`);
      results.push(await runScript({ name: step.name, args }, env));
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  console.error('\n=== summary ===');
  for (const r of results)
    console.error(
      `bench:${r.name}: ${r.code === 0 ? 'ok' : `FAILED (${r.code})`} in ${r.seconds.toFixed(0)} s`,
    );
  if (results.some((r) => r.code !== 0)) process.exitCode = 1;
}

main().catch((error) => {
  console.error(`bench: ${error.message}`);
  process.exitCode = 1;
});
