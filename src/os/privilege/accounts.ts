// User and group lookup by name or number, from /etc/passwd and /etc/group, then `getent` for NSS
// sources (LDAP, sssd) that the files do not list.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface UserEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}
export interface GroupEntry {
  name: string;
  gid: number;
}

function lookup(database: 'passwd' | 'group', key: string): string[] | undefined {
  const byId = /^\d+$/.test(key);
  const column = byId ? 2 : 0;
  try {
    for (const line of readFileSync(`/etc/${database}`, 'utf8').split('\n')) {
      const fields = line.split(':');
      if (fields[column] === key) return fields;
    }
  } catch {
    // No file (a scratch container): ask getent below.
  }
  try {
    const out = execFileSync('getent', [database, key], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const fields = out.trim().split(':');
    return fields.length > 2 ? fields : undefined;
  } catch {
    return undefined;
  }
}

export function findUser(nameOrUid: string): UserEntry | undefined {
  const fields = lookup('passwd', nameOrUid);
  if (!fields) return undefined;
  return { name: fields[0] ?? '', uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5] ?? '/' };
}

export function findGroup(nameOrGid: string): GroupEntry | undefined {
  const fields = lookup('group', nameOrGid);
  if (!fields) return undefined;
  return { name: fields[0] ?? '', gid: Number(fields[2]) };
}
