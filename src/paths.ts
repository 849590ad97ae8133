// Files of the installed package, found relative to this module. It sits at the top of dist/ both as
// compiled by tsc (dist/paths.js) and inside the bundle (dist/tsdaemon.cjs), so the same relative URLs work.

/**
 * The preload that Node children get through NODE_OPTIONS: src/preload/index.ts bundled into one CommonJS
 * file by scripts/build.mjs (src/os/process/child.ts says why).
 */
export const PRELOAD_URL = new URL('./preload.cjs', import.meta.url);

export const VERSION = '0.1.0';

/** The installed package: bin/, dist/, native/. */
export const PACKAGE_ROOT_URL = new URL('../', import.meta.url);

/** tsdaemon's optional native addon (native/tsdaemon_native.c), built at install time. */
export const NATIVE_ADDON_URL = new URL('../native/tsdaemon_native.node', import.meta.url);

/** tsdaemon's executable, as a unit's ExecStart= names it (`tsdaemon unit`). */
export const BIN_URL = new URL('../bin/tsdaemon', import.meta.url);
/** The bind shim (native/tsdaemon_bind.c), an LD_PRELOAD library built at install time next to the addon. */
export const BIND_SHIM_URL = new URL('../native/libtsdaemon_bind.so', import.meta.url);
