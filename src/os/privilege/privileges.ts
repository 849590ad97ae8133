// Dropping root after the sockets are bound (--user USER[:GROUP]).
//
// Order matters: initgroups before setgid before setuid. setuid first would leave us half-dropped (the
// uid changed, but no right left to change the gid), and without initgroups root's supplementary groups
// would stay. Afterwards we check the result and that root cannot be regained; any failure aborts before a
// child starts. Node's set*id calls change every thread of the process, and children inherit the result.
import { TsdaemonError } from '../../errors.js';
import { EXIT_PRIVILEGES, EXIT_USAGE } from '../../exit-codes.js';
import { findGroup, findUser } from './accounts.js';

export interface Identity {
  /** The user's name, or the uid as text when the passwd database has no entry. */
  name: string;
  uid: number;
  gid: number;
  /** Whether the passwd database knows the user (initgroups needs a name it can look up). */
  known: boolean;
  /** The group given after ':' (else the user's primary group), for messages. */
  groupName: string;
}

function privilegeError(code: string, message: string): TsdaemonError {
  return new TsdaemonError(code, message, EXIT_PRIVILEGES);
}

/** USER[:GROUP], names or numbers. The group defaults to the user's primary group from passwd. */
export function resolveIdentity(spec: string): Identity {
  const [userPart = '', groupPart] = spec.split(':');
  if (userPart === '' || groupPart === '') {
    throw new TsdaemonError(
      'usage-user',
      `--user '${spec}': expected USER or USER:GROUP (names or numbers), e.g. --user=www-data`,
      EXIT_USAGE,
    );
  }
  const user = findUser(userPart);
  if (!user && !/^\d+$/.test(userPart)) {
    throw privilegeError(
      'user-unknown',
      `--user '${spec}': no user '${userPart}' on this machine (see getent passwd)`,
    );
  }
  let gid = user?.gid;
  let groupName = gid === undefined ? '' : (findGroup(String(gid))?.name ?? String(gid));
  if (groupPart !== undefined) {
    const group = findGroup(groupPart);
    if (!group && !/^\d+$/.test(groupPart)) {
      throw privilegeError(
        'user-unknown-group',
        `--user '${spec}': no group '${groupPart}' on this machine (see getent group)`,
      );
    }
    gid = group?.gid ?? Number(groupPart);
    groupName = group?.name ?? groupPart;
  }
  if (gid === undefined) {
    throw privilegeError(
      'user-no-group',
      `--user '${spec}': uid ${userPart} has no passwd entry, so name the group too: --user=${userPart}:GID`,
    );
  }
  return {
    name: user?.name ?? userPart,
    uid: user?.uid ?? Number(userPart),
    gid,
    known: user !== undefined,
    groupName,
  };
}

/** Whether there is anything to do: not when we already run as that user and group. */
export function needsDrop(identity: Identity): boolean {
  return process.getuid?.() !== identity.uid || process.getgid?.() !== identity.gid;
}

/** Refuse --user early (before anything is bound) when we are not root and not already that user. */
export function checkCanDrop(identity: Identity): void {
  if (process.getuid?.() === 0 || !needsDrop(identity)) return;
  throw privilegeError(
    'user-not-root',
    `--user=${identity.name}: only root can switch users (tsdaemon runs as uid ${process.getuid?.()}); start it as root, or leave --user out`,
  );
}

/** initgroups → setgid → setuid, then verify. Throws TsdaemonError (exit 66). */
export function dropPrivileges(identity: Identity): void {
  if (!needsDrop(identity)) return;
  const step = (what: string, action: () => void) => {
    try {
      action();
    } catch (error) {
      throw privilegeError(
        'user-drop-failed',
        `cannot drop privileges to ${identity.name}: ${what} failed: ${(error as Error).message}`,
      );
    }
  };
  // initgroups is POSIX-only and missing from @types/node 20.
  const posix = process as unknown as { initgroups?: (user: string, group: number) => void };
  step('initgroups', () =>
    identity.known ? posix.initgroups?.(identity.name, identity.gid) : process.setgroups?.([identity.gid]),
  );
  step('setgid', () => process.setgid?.(identity.gid));
  step('setuid', () => process.setuid?.(identity.uid));
  verifyDropped(identity);
}

function verifyDropped(identity: Identity): void {
  const uid = process.getuid?.();
  const euid = process.geteuid?.();
  const gid = process.getgid?.();
  const groups = process.getgroups?.() ?? [];
  if (uid !== identity.uid || euid !== identity.uid || gid !== identity.gid) {
    throw privilegeError(
      'user-drop-failed',
      `privilege drop did not stick: uid=${uid} euid=${euid} gid=${gid}`,
    );
  }
  if (identity.uid !== 0 && groups.includes(0) && identity.gid !== 0) {
    throw privilegeError('user-drop-failed', `privilege drop kept root's group 0 among ${groups.join(',')}`);
  }
  if (identity.uid !== 0) {
    let regained = false;
    try {
      process.setuid?.(0);
      regained = true;
    } catch {
      // EPERM: as it must be.
    }
    if (regained) throw privilegeError('user-drop-failed', 'privilege drop failed: setuid(0) still works');
  }
}
