// The supervisor's bundle entry (dist/tsdaemon.cjs, built by scripts/build.mjs). src/launch.ts loads it, once
// it has checked, as root, that only root can change it, and calls run(); the control commands (status,
// reload, stop) have a bundle of their own (src/control-main.ts). Evaluating this one takes over the signals
// first (src/os/process/early-signals.ts: imported before anything else, so before any other module of the
// bundle is evaluated). run() puts the user's NODE_OPTIONS, NODE_EXTRA_CA_CERTS and GLIBC_TUNABLES back for
// the children (src/cli/set-aside.ts), then runs the command.
import './os/process/early-signals.js';
import { restoreSetAside } from './cli/set-aside.js';

export function run(args: string[], saveCodeCache: () => void = () => {}): void {
  restoreSetAside(process.env);
  void import('./cli/run-command.js').then(({ main }) => main(args, { saveCodeCache }));
}
