// docs/states.md against the code: every row of its tables is driven through the core and must say the
// same next state and the same effects; every (state, event) cell of the code must have a row. A decision
// that changes fails here until the page says it too.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { poolTable, poolTransition } from '../../dist/core/pool.js';
import { table, transition } from '../../dist/core/transition.js';
import {
  effectWords,
  POOL_WHEN_KEYS,
  poolCase,
  poolEffectWords,
  WORKER_WHEN_KEYS,
  workerCase,
} from '../helpers/cells.mjs';

const PAGE = readFileSync(new URL('../../docs/states.md', import.meta.url), 'utf8');

/** The rows of the first table after the heading `heading` (and before the next heading of its level). */
function tableRows(heading) {
  const start = PAGE.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `docs/states.md has a section "${heading}"`);
  const level = heading.split(' ')[0];
  const rest = PAGE.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`\\n${level} `));
  const section = end < 0 ? rest : rest.slice(0, end);
  const at = section.indexOf('\n### The table\n');
  assert.ok(at >= 0, `"${heading}" has a "### The table"`);
  const lines = section.slice(at).split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  const rows = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line
      .slice(1, -1)
      .split('|')
      .map((cell) => cell.trim());
    const [states, event, when, next, effects] = cells;
    rows.push({
      line,
      states: states.split(',').map((s) => s.trim()),
      event: event.replace(/`/g, ''),
      when,
      next,
      effects: effects === '' ? [] : effects.split(',').map((e) => e.trim()),
    });
  }
  assert.ok(rows.length > 0, `"${heading}" has rows`);
  return rows;
}

/**
 * Every row of the table under heading, driven through the core: run(state, row) puts the situation of the
 * row in place and takes one step; it returns the model it started from, the step and the step's effects
 * in the page's words. `of` names the machine in the messages ("worker", "pool").
 */
function describeTable(title, heading, { cells, of, run, whenKeys }) {
  describe(`docs/states.md: ${title}`, () => {
    const rows = tableRows(heading);
    const phases = Object.keys(cells);
    const events = Object.keys(cells.starting);

    for (const row of rows) {
      it(row.line, () => {
        assert.ok(events.includes(row.event), `${row.event} is an event of the ${of}`);
        for (const state of row.states) {
          assert.ok(phases.includes(state), `${state} is a state of the ${of}`);
          const { model, step, words } = run(state, row);
          assert.equal(model.phase, state, `the situation for this row starts in ${state}`);
          const next = step.model.phase === state ? '—' : step.model.phase;
          assert.equal(next, row.next, `${state}: next state`);
          assert.deepEqual(words, row.effects, `${state}: what it does`);
        }
      });
    }

    it('has a row for every state × event of the code', () => {
      const missing = [];
      for (const phase of phases) {
        for (const event of events) {
          if (!rows.some((r) => r.event === event && r.states.includes(phase)))
            missing.push(`${phase} × ${event}`);
        }
      }
      assert.deepEqual(missing, []);
    });

    it('uses every situation that test/helpers/cells.mjs knows (none is stale)', () => {
      const used = new Set(rows.flatMap((r) => r.states.map((s) => `${s} | ${r.event} | ${r.when}`)));
      assert.deepEqual(
        whenKeys.filter((key) => !used.has(key)),
        [],
      );
    });
  });
}

describeTable('one worker', '## One worker', {
  cells: table,
  of: 'worker',
  run(state, row) {
    const { settings, model, event } = workerCase(state, row.event, row.when);
    const step = transition(model, event);
    return { model, step, words: effectWords(step.effects, settings) };
  },
  whenKeys: WORKER_WHEN_KEYS,
});

describeTable('the pool of workers', '## The pool of workers', {
  cells: poolTable,
  of: 'pool',
  run(state, row) {
    const { model, event } = poolCase(state, row.event, row.when);
    const step = poolTransition(model, event);
    return { model, step, words: poolEffectWords(step.effects) };
  },
  whenKeys: POOL_WHEN_KEYS,
});
