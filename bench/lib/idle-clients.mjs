// The client side of the idle-connection drains (../idle-conns-worker.mjs), in its own process with a
// raised fd limit: `count` keep-alive connections that each got one answer and then stay idle.
// `opened` resolves once all are open; report(since) tells how each one ended, with times after `since`.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitForExit, withMaxFds } from './proc.mjs';

const IDLE_WORKER = fileURLToPath(new URL('../idle-conns-worker.mjs', import.meta.url));

export function startIdleClients(port, count, maxFds) {
  const [command, ...args] = withMaxFds(
    [process.execPath, IDLE_WORKER, `--port=${port}`, `--count=${count}`],
    maxFds,
  );
  const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = (type) =>
    new Promise((resolve, reject) => {
      const onMessage = (message) => {
        if (message.type !== type) return;
        child.off('exit', onExit);
        child.off('message', onMessage);
        resolve(message);
      };
      const onExit = (code) => reject(new Error(`the client process exited (${code}) before '${type}'`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  return {
    opened: next('open'),
    async report(since) {
      const reported = next('report');
      child.send({ type: 'report', since });
      const message = await reported;
      await waitForExit(child, 5000);
      return message;
    },
    kill: () => child.exitCode === null && child.kill('SIGKILL'),
  };
}
