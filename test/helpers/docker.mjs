// A real Docker engine for the tests: whether one answers (and why not, for the skip message), commands
// with a deadline, and cleanup of every container and image a test made, by id. The engine and the base
// images come from test/engines/docker.sh.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ROOT } from './tsdaemon.mjs';

// Debian's docker.io client: BuildKit is built in. A docker CLI earlier on PATH may have no buildx.
export const DOCKER = process.env.TSDAEMON_DOCKER ?? '/usr/bin/docker';
const SETUP = 'test/engines/docker.sh up';

/** Why the Docker tests cannot run here (a sentence for the skip), or undefined when they can. */
export function dockerUnavailable(images) {
  if (process.getuid() !== 0) return 'NO DOCKER: the tests need root';
  if (!existsSync(DOCKER)) return `NO DOCKER: ${DOCKER} is missing; run ${SETUP}`;
  try {
    execFileSync(DOCKER, ['info'], { stdio: 'ignore', timeout: 15_000 });
  } catch {
    return `NO DOCKER: the engine does not answer; run ${SETUP}`;
  }
  const missing = images.filter((image) => {
    try {
      execFileSync(DOCKER, ['image', 'inspect', image], { stdio: 'ignore', timeout: 15_000 });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) return `NO DOCKER: base images ${missing.join(', ')} missing; run ${SETUP}`;
  return undefined;
}

/** The images the Dockerfile's FROM lines name. */
export function dockerfileBases(dockerfile) {
  return [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
}

/** Runs docker with args; resolves with its stdout (trimmed), rejects with its stderr. */
export function docker(args, { timeoutMs = 60_000, cwd = ROOT, input } = {}) {
  return new Promise((resolve, reject) => {
    const child = execFile(
      DOCKER,
      args,
      { cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, DOCKER_BUILDKIT: '1' } },
      (error, stdout, stderr) => {
        if (error) {
          error.message = `docker ${args.join(' ')}: ${error.killed ? 'timed out' : `exit ${error.code}`}\n${stderr}`;
          error.stdout = stdout;
          error.stderr = stderr;
          reject(error);
        } else resolve(stdout.trim());
      },
    );
    if (input !== undefined) child.stdin.end(input);
  });
}

/** Tracks what a test file made, and removes it all (containers first, then images), by id and tag. */
export function createDockerJanitor() {
  const containers = new Set();
  const images = new Set();
  return {
    container(id) {
      containers.add(id);
      return id;
    },
    image(tag) {
      images.add(tag);
      return tag;
    },
    async cleanup() {
      if (containers.size > 0) await docker(['rm', '-f', '-v', ...containers]).catch(() => {});
      // Images built FROM another one go first.
      for (const tag of [...images].reverse()) await docker(['rmi', '-f', tag]).catch(() => {});
    },
  };
}

/** The host port that the container's port 8080 is published on (with -p 127.0.0.1::8080). */
export async function publishedPort(id, port = 8080) {
  const out = await docker(['port', id, `${port}/tcp`]);
  return Number(/:(\d+)$/m.exec(out)?.[1]);
}

/** [{ pid, state, ppid, comm }] of every process in the container, from its /proc. */
export async function containerProcesses(id) {
  const out = await docker(['exec', id, 'sh', '-c', 'cat /proc/[0-9]*/stat 2>/dev/null']);
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const open = line.indexOf('(');
      const close = line.lastIndexOf(')');
      const [state, ppid] = line.slice(close + 2).split(' ');
      return {
        pid: Number(line.slice(0, open)),
        comm: line.slice(open + 1, close),
        state,
        ppid: Number(ppid),
      };
    });
}
