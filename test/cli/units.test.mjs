// Durations and sizes as operators write them (--lame-duck 15s, --max-memory 512M).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatDuration, parseDuration, parseSize } from '../../dist/cli/units.js';

const KiB = 1024;
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

describe('parseDuration', () => {
  const valid = [
    ['15s', 15_000],
    ['500ms', 500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1_500],
    ['0.5m', 30_000],
    ['15', 15_000],
    ['1.5', 1_500],
    ['0', 0],
    ['0s', 0],
    [' 15s ', 15_000],
  ];
  for (const [text, ms] of valid) {
    it(`reads ${JSON.stringify(text)} as ${ms} ms`, () => assert.equal(parseDuration(text), ms));
  }

  for (const text of [
    '15x',
    '',
    ' ',
    's',
    'ms',
    '-1s',
    '-1',
    '1e3',
    '.5s',
    '15 s',
    '1s-',
    'Infinity',
    'NaN',
  ]) {
    it(`rejects ${JSON.stringify(text)}`, () => assert.equal(parseDuration(text), undefined));
  }
});

describe('formatDuration', () => {
  const cases = [
    [0, '0s'],
    [1, '1ms'],
    [1_500, '1500ms'],
    [15_000, '15s'],
    [90_000, '90s'],
    [120_000, '2m'],
    [3_600_000, '1h'],
    [86_400_000, '24h'],
  ];
  for (const [ms, text] of cases) {
    it(`writes ${ms} ms as ${text}`, () => assert.equal(formatDuration(ms), text));
  }

  it('parses back to the same number of milliseconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e9 }), (ms) => {
        assert.equal(parseDuration(formatDuration(ms)), ms);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('parseSize', () => {
  const valid = [
    ['512M', 512 * MiB],
    ['1G', GiB],
    ['64k', 64 * KiB],
    ['64K', 64 * KiB],
    ['100MiB', 100 * MiB],
    ['2GB', 2 * GiB],
    ['1.5g', 1.5 * GiB],
    ['1t', 1024 * GiB],
    ['1024', 1024],
    ['0', 0],
    ['10b', 10],
    ['10 MB', 10 * MiB],
    [' 1G ', GiB],
  ];
  for (const [text, bytes] of valid) {
    it(`reads ${JSON.stringify(text)} as ${bytes} bytes`, () => assert.equal(parseSize(text), bytes));
  }

  for (const text of ['12Q', 'M', '', 'MiB', '-1M', '1e3', '1.5.5M', '9007199254740993', '99999999999T']) {
    it(`rejects ${JSON.stringify(text)}`, () => assert.equal(parseSize(text), undefined));
  }

  it('returns a safe non-negative integer or undefined, for any string', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 16 }), (text) => {
        const bytes = parseSize(text);
        if (bytes !== undefined) assert.ok(Number.isSafeInteger(bytes) && bytes >= 0, `${text} -> ${bytes}`);
      }),
      { numRuns: 300 },
    );
  });
});
