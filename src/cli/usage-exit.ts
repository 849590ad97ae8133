// A usage error ends tsdaemon with one line naming the option, the value and the fix, and exit code 64.
import { EXIT_USAGE } from '../exit-codes.js';
import { isJournalStream } from '../os/log/journal.js';

export function usageExit(message: string): never {
  // In the journal at priority err, so that `journalctl -p err` shows why a unit did not start.
  const priority = isJournalStream(process.env) ? '<3>' : '';
  process.stderr.write(
    `${priority}tsdaemon: ${message.replace(/\s*\n\s*/g, ' ')}\nRun 'tsdaemon --help' for the options.\n`,
  );
  process.exit(EXIT_USAGE);
}
