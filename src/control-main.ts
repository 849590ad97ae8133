// The entry of the control commands' bundle (dist/control.cjs, built by scripts/build.mjs): `tsdaemon status`,
// `reload` and `stop` are short-lived clients of a running supervisor's control socket. src/launch.ts loads
// this bundle for them instead of the supervisor's (dist/tsdaemon.cjs): a tenth of its size, without
// winston and execa, so a control command costs little more than a Node start (docs/benchmarks.md).
import { runControlCommand } from './cli/control-command.js';
import { UsageError } from './cli/options.js';
import { usageExit } from './cli/usage-exit.js';

export function run(args: string[], saveCodeCache: () => void = () => {}): void {
  runControlCommand(args).then(
    (code) => {
      saveCodeCache();
      process.exit(code);
    },
    (error: unknown) => {
      if (error instanceof UsageError) usageExit(error.message);
      throw error;
    },
  );
}
