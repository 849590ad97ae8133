// tsdaemon doctor: what this install can do, for an operator deciding whether it is ready (README,
// "Install"). The versions, whether the optional native addon loaded (and why not), which features need
// it, and what tsdaemon sees of its surroundings: the journal, root, and whether root may run this copy.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isJournalStream } from '../os/log/journal.js';
import { loadNative } from '../os/native.js';
import { checkInstall } from '../os/privilege/trusted-code.js';
import { supportsReusePort } from '../os/sockets/socket-handles.js';
import { PACKAGE_ROOT_URL, VERSION } from '../paths.js';

/** What the native addon gives (src/os/native.ts); without it tsdaemon works, with these missing. */
const ADDON_FEATURES = [
  'sd_notify: Type=notify units, WatchdogSec=, RELOADING=1 around a hot restart',
  'reaping orphaned zombies as PID 1 (a container without --init)',
  'listen(2) in-process at start (without it: a helper process, about 50 ms slower)',
  'listening again after a child shut its inherited socket down (shutdown(2))',
  'close-on-exec for sockets inherited with --listen=&FD',
];

/** The report, one fact a line. */
export function doctorReport(env: NodeJS.ProcessEnv): string {
  const root = realpathSync(fileURLToPath(PACKAGE_ROOT_URL)).replace(/\/$/, '');
  const { addon, error } = loadNative();
  const mark = (ok: boolean) => (ok ? 'yes' : 'no ');
  const lines = [
    `tsdaemon ${VERSION} in ${root}`,
    `node     ${process.version} (${process.execPath}), ${process.platform} ${process.arch}`,
    `addon    ${addon ? 'loaded' : `not loaded: ${error}`}`,
    'features that need the native addon:',
    ...ADDON_FEATURES.map((feature) => `  ${mark(addon !== undefined)}  ${feature}`),
    'features that need a newer Node.js:',
    `  ${mark(supportsReusePort())}  --listen=...,reuseport (Node.js >= 22.12)`,
  ];
  const journal = isJournalStream(env);
  lines.push(
    `journal  ${journal ? 'stderr is the journal: priority prefixes, no timestamps' : `stderr is not systemd's journal${env.JOURNAL_STREAM ? ' (JOURNAL_STREAM names another file)' : ''}`}`,
  );
  const unsafe = checkInstall(root);
  lines.push(
    `as root  ${unsafe ? `refused: ${unsafe.path} ${unsafe.why} (a user other than root could change code root runs; see docs/errors.md)` : 'allowed: only root can change this install'}`,
  );
  return `${lines.join('\n')}\n`;
}
