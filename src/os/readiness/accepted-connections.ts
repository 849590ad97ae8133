// A sign of readiness that cannot be wrong: a process of the child's group holds a connection that was
// accepted from one of the inherited listening sockets. Such a socket is ESTABLISHED (or closing) and has
// the listener's local address: the same port and address in /proc/net/tcp or tcp6 (a listener on the
// wildcard address gives the address the client connected to), or for unix sockets the listener's path
// in /proc/net/unix. A connection the child opened itself has a port of its own, never a listener's.
// Reading /proc/net/tcp or tcp6 costs tens of milliseconds even with few sockets (the kernel walks its
// whole connection hash table: measured 26 ms for a tcp6 table of one line), so: each socket is looked up
// once; /proc/net/unix (cheap) is read first, and the tcp tables only for a new socket that is not a unix
// one, each at most once per call.
import { tryReadProcText } from '../procfs/proc-file.js';
import { decodeIPv4, decodeIPv6 } from '../procfs/proc-net.js';

type Table = 'tcp' | 'tcp6' | 'unix';

interface Row {
  /** tcp: "0100007F:1F90" (address and port as the table prints them); unix: the path */
  local: string;
  state: string;
  listening: boolean;
}

interface ListenerRow {
  table: Table;
  /** tcp: the address in hex; unix: the path */
  address: string;
  port: string;
}

export interface SocketRef {
  pid: number;
  fd: number;
  inode: number;
}

// ESTABLISHED, FIN_WAIT1, FIN_WAIT2, CLOSE, CLOSE_WAIT, LAST_ACK, CLOSING (include/net/tcp_states.h)
const TCP_CONNECTED = new Set(['01', '04', '05', '07', '08', '09', '0B']);
// SS_CONNECTED, SS_DISCONNECTING (include/uapi/linux/net.h)
const UNIX_CONNECTED = new Set(['03', '04']);
const SO_ACCEPTCON = 0x10000;

function readRows(table: Table): Map<number, Row> {
  const rows = new Map<number, Row>();
  const lines = (tryReadProcText(`/proc/net/${table}`) ?? '').split('\n');
  for (let i = 1; i < lines.length; i++) {
    const cols = (lines[i] as string).trim().split(/\s+/);
    if (table === 'unix') {
      // Num RefCount Protocol Flags Type St Inode Path
      const listening = (Number.parseInt(cols[3] ?? '0', 16) & SO_ACCEPTCON) !== 0;
      if (cols[6]) rows.set(Number(cols[6]), { local: cols[7] ?? '', state: cols[5] ?? '', listening });
    } else if (cols[9]) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      rows.set(Number(cols[9]), { local: cols[1] ?? '', state: cols[3] ?? '', listening: cols[3] === '0A' });
    }
  }
  return rows;
}

function listenerRow(table: Table, row: Row): ListenerRow {
  if (table === 'unix') return { table, address: row.local, port: '' };
  const [address = '', port = ''] = row.local.split(':');
  return { table, address, port };
}

function describeLocal(table: Table, local: string): string {
  if (table === 'unix') return `unix ${local}`;
  const [address = '', port = '0'] = local.split(':');
  const host = table === 'tcp' ? decodeIPv4(address) : `[${decodeIPv6(address)}]`;
  return `tcp ${host}:${Number.parseInt(port, 16)}`;
}

function accepts(listener: ListenerRow, table: Table, row: Row): boolean {
  if (table !== listener.table || row.listening) return false;
  if (table === 'unix') return UNIX_CONNECTED.has(row.state) && row.local === listener.address;
  const [address = '', port = ''] = row.local.split(':');
  if (!TCP_CONNECTED.has(row.state) || port !== listener.port) return false;
  return /^0+$/.test(listener.address) || address === listener.address;
}

export interface ConnectionCheck {
  /** How the first of these sockets that is an accepted connection of a listener was seen, else undefined. */
  find(sockets: SocketRef[]): string | undefined;
}

export function createConnectionCheck(listenerInodes: Iterable<number>): ConnectionCheck {
  const wanted = new Set(listenerInodes);
  const looked = new Set<number>(wanted);
  let unixListeners: ListenerRow[] | undefined;
  let inetListeners: ListenerRow[] | undefined;
  const match = (table: Table, rows: Map<number, Row>, listeners: ListenerRow[], sockets: SocketRef[]) => {
    for (const s of sockets) {
      const row = rows.get(s.inode);
      if (row && listeners.some((l) => accepts(l, table, row))) {
        return `pid ${s.pid} holds fd ${s.fd}, a connection accepted on ${describeLocal(table, row.local)}`;
      }
    }
    return undefined;
  };
  return {
    find(sockets) {
      const fresh = sockets.filter((s) => !looked.has(s.inode));
      if (fresh.length === 0) return undefined;
      for (const s of fresh) looked.add(s.inode);
      const unix = readRows('unix');
      unixListeners ??= [...wanted].flatMap((inode) => {
        const row = unix.get(inode);
        return row ? [listenerRow('unix', row)] : [];
      });
      const found = match('unix', unix, unixListeners, fresh);
      if (found) return found;
      // Only inet listeners can have tcp connections, and only a socket that is not a unix one can be one.
      const inet = fresh.filter((s) => !unix.has(s.inode));
      if (inet.length === 0 || unixListeners.length === wanted.size) return undefined;
      const tables: Table[] = inetListeners
        ? [...new Set(inetListeners.map((l) => l.table))]
        : ['tcp', 'tcp6'];
      const rowsOf = new Map(tables.map((table) => [table, readRows(table)]));
      if (!inetListeners) {
        inetListeners = [];
        for (const [table, rows] of rowsOf) {
          for (const inode of wanted) {
            const row = rows.get(inode);
            if (row?.listening) inetListeners.push(listenerRow(table, row));
          }
        }
      }
      for (const [table, rows] of rowsOf) {
        const hit = match(table, rows, inetListeners, inet);
        if (hit) return hit;
      }
      return undefined;
    },
  };
}
