// What the tests of the real engines (test/engines/docker.test.mjs, test/engines/systemd*.test.mjs) share: a loud notice
// when an engine cannot run here, and polling with a deadline.
import { sleep } from './tsdaemon.mjs';

/** Say it where nobody can miss it: a skip reason alone is one line among hundreds. */
export function announceUnavailable(reason, file) {
  if (!reason) return;
  const bar = '!'.repeat(90);
  process.stderr.write(`\n${bar}\n!!! ${reason}\n!!! every test in ${file} is skipped\n${bar}\n\n`);
}

/** Polls probe() until it returns a truthy value; throws after timeoutMs naming what it waited for. */
export async function until(probe, { timeoutMs = 20_000, intervalMs = 100, what = 'the condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
}
