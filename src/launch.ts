// What bin/tsdaemon runs once node has started (built into dist/launch.cjs by scripts/build.mjs): started as
// root, refuse code that another user could change (src/os/privilege/trusted-code.ts; bin/tsdaemon has
// checked this file itself by the same rule before it loaded it); then load the bundle with its code cache
// (src/os/compiled-script.ts): dist/control.cjs for status, reload and stop (src/control-main.ts), else
// dist/tsdaemon.cjs, whose entry takes over the signals as it is evaluated (src/main.ts). Its run() starts
// tsdaemon.
import { join } from 'node:path';
import { isControlCommand } from './control/wire.js';
import { loadCompiled } from './os/compiled-script.js';
import { checkInstall } from './os/privilege/trusted-code.js';

const EXIT_UNSAFE_INSTALL = 77; // src/exit-codes.ts

/** --allow-unsafe-install among the options (before "--"), or TSDAEMON_ALLOW_UNSAFE_INSTALL=true. */
function unsafeAllowed(args: string[]): boolean {
  const end = args.indexOf('--');
  const options = end < 0 ? args : args.slice(0, end);
  return (
    options.some((o) => /^--allow-unsafe-install(=true)?$/.test(o)) ||
    process.env.TSDAEMON_ALLOW_UNSAFE_INSTALL === 'true'
  );
}

function refuseUnsafeInstall(root: string, args: string[]): void {
  const unsafe = checkInstall(root);
  if (!unsafe) return;
  if (unsafeAllowed(args)) {
    process.stderr.write(
      `tsdaemon: warning: running as root although ${unsafe.path} ${unsafe.why} (--allow-unsafe-install)\n`,
    );
    return;
  }
  const inside = unsafe.path === root || unsafe.path.startsWith(`${root}/`);
  const fix = inside
    ? `chown -R root: ${root} && chmod -R go-w ${root}`
    : `chown root: ${unsafe.path} && chmod go-w ${unsafe.path}`;
  process.stderr.write(
    `tsdaemon: refusing to run as root: ${unsafe.path} ${unsafe.why}, who could change code that runs as root; install tsdaemon as root (npm install -g) or make it root's (${fix}), or pass --allow-unsafe-install\n`,
  );
  process.exit(EXIT_UNSAFE_INSTALL);
}

/** root: the installed package (bin/..). */
export function launch(root: string, args: string[]): void {
  if (process.geteuid?.() === 0) refuseUnsafeInstall(root, args);
  const name = isControlCommand(args[0]) ? 'control.cjs' : 'tsdaemon.cjs';
  const bundle = loadCompiled(join(root, 'dist', name));
  (bundle.exports as { run(args: string[], saveCodeCache: () => void): void }).run(args, bundle.save);
}
