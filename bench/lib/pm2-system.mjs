// Scenario B: PM2 in cluster mode (2 instances of apps/hello.js; fork mode or another count on request),
// installed for the run into a temporary folder, with its own PM2_HOME so it never meets another PM2 on the
// machine. A restart is `pm2 reload bench`, timed from the command's start until it returns (that includes
// starting the pm2 CLI).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { now, pidsWithEnv, run, waitGone } from './proc.mjs';

const HELLO = fileURLToPath(new URL('../apps/hello.js', import.meta.url));
const INSTANCES = 2;

/** `npm install --prefix dir pm2@latest`; returns the pm2 CLI scripts and its version. */
export async function installPm2(dir) {
  const args = ['install', '--prefix', dir, 'pm2@latest', '--no-audit', '--no-fund', '--loglevel=error'];
  const result = await run('npm', args, { timeoutMs: 180_000 });
  if (result.code !== 0) throw new Error(`npm ${args.join(' ')} failed (${result.code}):\n${result.stderr}`);
  return { ...pm2FromPrefix(dir), installMs: result.ms };
}

/** A pm2 already installed with `npm install --prefix dir`. */
export function pm2FromPrefix(dir) {
  const root = join(dir, 'node_modules', 'pm2');
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return {
    bin: join(root, 'bin', 'pm2'),
    runtimeBin: join(root, 'bin', 'pm2-runtime'),
    version,
    prefix: dir,
  };
}

/** `mode` is 'cluster' (the master accepts and hands connections to the workers) or 'fork'. */
export function createPm2System({ bin, home, mode = 'cluster', instances = INSTANCES, name = 'pm2' }) {
  const env = { ...process.env, PM2_HOME: home };
  const pm2 = async (...args) => {
    const result = await run(process.execPath, [bin, ...args], { env, timeoutMs: 60_000 });
    if (result.code !== 0)
      throw new Error(`pm2 ${args.join(' ')} failed (${result.code}):\n${result.stderr}`);
    return result;
  };

  let daemonPid;
  return {
    name,
    /** The app processes (everything with our PM2_HOME but the daemon). */
    workerPids: () => pidsWithEnv('PM2_HOME', home).filter((pid) => pid !== daemonPid),
    async start(port) {
      mkdirSync(home, { recursive: true });
      const ecosystem = join(home, 'ecosystem.config.json');
      const app = { name: 'bench', script: HELLO, exec_mode: mode, instances };
      writeFileSync(ecosystem, JSON.stringify({ apps: [{ ...app, env: { PORT: String(port) } }] }));
      await pm2('start', ecosystem);
      daemonPid = Number(readFileSync(join(home, 'pm2.pid'), 'utf8'));
      // The pm2 CLI alone: what every `pm2 reload` pays before it asks the daemon anything.
      const ping = await pm2('ping');
      return { pid: daemonPid, cliMs: ping.ms };
    },
    async restart() {
      const sentAt = now();
      const { endedAt } = await pm2('reload', 'bench');
      return { sentAt, doneAt: endedAt };
    },
    async stop() {
      const list = await pm2('jlist');
      const apps = JSON.parse(list.stdout.slice(list.stdout.indexOf('[')));
      const pids = apps.map((app) => app.pid).filter(Boolean);
      await pm2('kill');
      // Everything pm2 started carries our PM2_HOME in its environment: the daemon, the workers, any helper.
      const left = await waitGone([...new Set([...pids, daemonPid, ...pidsWithEnv('PM2_HOME', home)])], 5000);
      rmSync(home, { recursive: true, force: true });
      return { exitCode: 0, left };
    },
  };
}
