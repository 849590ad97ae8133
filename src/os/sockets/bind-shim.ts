// The bind shim (native/tsdaemon_bind.c) for the child: whether LD_PRELOAD gets it, and the one line that
// says why not when it cannot help. --bind-shim (on by default) loads it for every command but the node
// binary itself, whose listen() calls tsdaemon's Node preload already sends to the inherited socket; a Node
// launcher (npm start, npx) gets it, since it may start any program. It reaches a program only through the
// dynamic loader: not a static binary, not a Go program (Go calls bind(2) itself), not a setuid one.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BIND_SHIM_URL } from '../../paths.js';
import { untrustedCode } from '../privilege/trusted-code.js';
import { inspectProgram } from './program-kind.js';

export interface BindShimPlan {
  /** The library to put first in the child's LD_PRELOAD. */
  library?: string;
  /** What to log about it, once, at start. */
  level?: 'warn' | 'info' | 'debug';
  message?: string;
}

const FD3 =
  'it must take its socket from fd 3 (LISTEN_FDS) instead of binding the port; see docs/launchers.md';

export interface BindShimOptions {
  /** The command's absolute path (findCommand). */
  commandPath: string;
  pathVariable: string | undefined;
  library?: string;
}

export function planBindShim(options: BindShimOptions): BindShimPlan {
  const library = options.library ?? fileURLToPath(BIND_SHIM_URL);
  const program = inspectProgram(options.commandPath, options.pathVariable);
  if (program.kind === 'node') return {};
  if (!existsSync(library)) {
    return {
      level: 'warn',
      message: `bind shim not available: ${library} was not built (it needs a C compiler at install: npm rebuild tsdaemon); a server that binds its --listen port itself fails with EADDRINUSE: ${FD3}`,
    };
  }
  // The children run as tsdaemon's own user (who may change its own files) or as --user, who must not:
  // the shim is theirs to load, not to change.
  const untrusted = untrustedCode(library, process.geteuid?.() ?? 0);
  if (untrusted) {
    return {
      level: 'warn',
      message: `bind shim not loaded: ${untrusted.path} ${untrusted.why}, so others could change code that runs in the child (fix: chown root: and chmod go-w it and its directories); a server that binds its --listen port itself fails with EADDRINUSE`,
    };
  }
  const reason =
    program.kind === 'static'
      ? 'is statically linked (no ELF interpreter), so nothing can be preloaded into it'
      : program.kind === 'go'
        ? 'is a Go program, which calls bind(2) itself rather than through libc'
        : program.kind === 'setuid'
          ? 'is setuid or setgid, and the dynamic loader ignores LD_PRELOAD for it'
          : undefined;
  // Still preloaded: the programs it starts may be reached.
  if (reason)
    return {
      library,
      level: 'info',
      message: `the bind shim cannot reach ${program.path}: it ${reason}; ${FD3}`,
    };
  return { library, level: 'debug', message: `bind shim: LD_PRELOAD=${library}` };
}

/** env with the library first in LD_PRELOAD (the user's own entries kept after it). */
export function withBindShim(env: NodeJS.ProcessEnv, plan: BindShimPlan): NodeJS.ProcessEnv {
  if (!plan.library) return env;
  const current = env.LD_PRELOAD?.trim();
  return { ...env, LD_PRELOAD: current ? `${plan.library} ${current}` : plan.library };
}
