// Variables that bin/tsdaemon's shell part sets aside before it starts node, because node (or the C
// library under it) reads them when it starts and they are meant for the app, not for tsdaemon:
// - NODE_OPTIONS may load the app's --require hooks or open an inspector (--inspect) that would then sit
//   in tsdaemon and take the app's port;
// - NODE_EXTRA_CA_CERTS makes Node 20 load that CA file at every start (about 60 ms; tsdaemon makes no
//   TLS connection);
// - GLIBC_TUNABLES: tsdaemon runs with its own (glibc.malloc.trim_threshold, so that the memory freed
//   after start-up goes back to the system; docs/benchmarks.md).
// The shell keeps each under __TSDAEMON_USER_<NAME> and marks that it did (__TSDAEMON_SET_ASIDE); the
// bundle's entry puts them back before anything copies the environment, so the children get all three
// exactly as the user set them (unset stays unset, empty stays empty). Started as `node bin/tsdaemon`,
// nothing is set aside and node applies them to tsdaemon too.
export const SET_ASIDE = ['NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS', 'GLIBC_TUNABLES'] as const;
const MARKER = '__TSDAEMON_SET_ASIDE';
const kept = (name: string) => `__TSDAEMON_USER_${name}`;

/** Put back what bin/tsdaemon set aside (in process.env: later copies of it see the user's values). */
export function restoreSetAside(env: NodeJS.ProcessEnv): void {
  if (env[MARKER] === undefined) return;
  delete env[MARKER];
  for (const name of SET_ASIDE) {
    const value = env[kept(name)];
    delete env[kept(name)];
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
}
