// Code blocks taken from the docs themselves, so a test runs exactly what a page tells users to write.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './tsdaemon.mjs';

/**
 * The fenced blocks of kind lang (```ini, ```dockerfile) in the section under heading (a whole line such
 * as "### Notify (`Type=notify`)"), up to the next heading of the same or a higher level; verbatim, each
 * with its final newline.
 */
export function docBlocks(file, heading, lang) {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const level = /^#+/.exec(heading)[0].length;
  const at = lines.indexOf(heading);
  assert.ok(at >= 0, `${file} has the heading ${heading}`);
  const blocks = [];
  let block;
  let fenced = false;
  for (const line of lines.slice(at + 1)) {
    if (line.startsWith('```')) {
      fenced = !fenced;
      if (fenced && line === `\`\`\`${lang}`) block = [];
      else if (!fenced && block) {
        blocks.push(`${block.join('\n')}\n`);
        block = undefined;
      }
      continue;
    }
    // A '#' line inside a block is a comment of the unit or Dockerfile, not a heading.
    if (!fenced && new RegExp(`^#{1,${level}} `).test(line)) break;
    block?.push(line);
  }
  assert.ok(blocks.length > 0, `${file}: a \`\`\`${lang} block under ${heading}`);
  return blocks;
}
