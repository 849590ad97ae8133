// Injected by scripts/build.mjs into the CommonJS bundle of the CLI: import.meta.url there is the bundle's
// own URL (src/paths.ts finds the package's files from it). require and __filename are CommonJS's.
import { pathToFileURL } from 'node:url';

export const importMetaUrl = pathToFileURL(__filename).href;
