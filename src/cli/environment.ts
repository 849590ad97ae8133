// TSDAEMON_* variables in tsdaemon's own environment: yargs reads each as the option of that name. Images
// and units often carry unrelated variables with a product's prefix, so an unknown one is ignored with one
// warning. One that is a typo away from an option (TSDAEMON_USRE) is refused instead: ignoring it could run
// the children as root.
import { CHILD_IDENTITY_VARIABLES } from '../child-protocol.js';
import { UsageError } from './options.js';
import { closest } from './suggest.js';

const PREFIX = 'TSDAEMON_';

/** TSDAEMON_LAME_DUCK for lame-duck. */
export const variableOf = (option: string) => `${PREFIX}${option.replace(/-/g, '_').toUpperCase()}`;

/**
 * Check env's TSDAEMON_* variables against the options' names; delete the unknown ones from env (so yargs
 * does not see them) and return their names. Throws a UsageError for a near miss or an empty
 * TSDAEMON_LISTEN, which would silently mean "no socket".
 */
export function screenEnvironment(
  env: NodeJS.ProcessEnv,
  options: readonly string[],
  listenGiven: boolean,
): string[] {
  // Variables a parent tsdaemon set for its child share our prefix but are no options.
  for (const name of CHILD_IDENTITY_VARIABLES) delete env[name];
  const known = options.map(variableOf);
  const ignored: string[] = [];
  for (const name of Object.keys(env).filter((n) => n.startsWith(PREFIX))) {
    if (known.includes(name)) continue;
    // Compared without the prefix, which every name shares.
    const near = closest(
      name.slice(PREFIX.length),
      known.map((k) => k.slice(PREFIX.length)),
    );
    if (near !== undefined) {
      throw new UsageError(
        `unknown environment variable ${name}: did you mean ${PREFIX}${near}? (unknown TSDAEMON_* variables are ignored with a warning, but not one this close to an option)`,
      );
    }
    ignored.push(name);
    delete env[name];
  }
  if (env.TSDAEMON_LISTEN !== undefined && env.TSDAEMON_LISTEN.trim() === '' && !listenGiven) {
    throw new UsageError(
      'TSDAEMON_LISTEN is set but empty: give the sockets (TSDAEMON_LISTEN=":8080 admin=unix:/run/app.sock") or unset it',
    );
  }
  return ignored;
}
