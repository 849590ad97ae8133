// The suite leaves /tmp as it found it: every test makes its temporary directories through tempDir(t)
// (test/helpers/tsdaemon.mjs), which removes them after the test, and passes t to worldReadableBin(t) for
// the same reason. A directory made any other way is easily left behind (dozens were found in /tmp once).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

const TEST_DIR = new URL('./', import.meta.url);

test('test files make temporary directories only through tempDir(t), which removes them', () => {
  const offenders = [];
  for (const name of readdirSync(TEST_DIR, { recursive: true }).filter(
    (f) => f.endsWith('.test.mjs') && f !== 'hygiene.test.mjs',
  )) {
    const lines = readFileSync(new URL(name, TEST_DIR), 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (/\bmkdtemp(Sync)?\(|\bworldReadableBin\(\)|\btmpdir\(\)/.test(line))
        offenders.push(`${name}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(offenders, [], `use tempDir(t) / worldReadableBin(t):\n${offenders.join('\n')}`);
});
