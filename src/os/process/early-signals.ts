// Imported first by the bundle's entry (src/main.ts), so that this runs before any other module of the
// bundle is evaluated: from here on a SIGTERM during start-up is queued for the supervisor instead of
// killing tsdaemon, and SIGUSR1 no longer opens Node's inspector (src/os/process/signals.ts).
import { installSignalHandlers } from './signals.js';

installSignalHandlers();
