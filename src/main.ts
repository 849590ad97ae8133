// The bundle's entry: bin/tsdaemon loads dist/tsdaemon.cjs (this module and everything it imports, built
// by scripts/build.mjs) once it has checked, as root, that only root can change it. The signal handlers
// go in first (src/os/early-signals.ts), then the user's NODE_OPTIONS and NODE_EXTRA_CA_CERTS come back
// for the children (src/cli/set-aside.ts), then tsdaemon runs.
import './os/early-signals.js';
import { restoreSetAside } from './cli/set-aside.js';
import { main } from './cli.js';

restoreSetAside(process.env);
void main(process.argv.slice(2));
