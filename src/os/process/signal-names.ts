import { constants } from 'node:os';

const SIGNALS = constants.signals as Record<string, number>;

/** "TERM", "sigterm", "SIGTERM" or "15" → "SIGTERM"; undefined for anything else. */
export function normalizeSignal(text: string): string | undefined {
  const value = text.trim().toUpperCase();
  const name = /^\d+$/.test(value)
    ? Object.keys(SIGNALS).find((candidate) => SIGNALS[candidate] === Number(value))
    : value.startsWith('SIG')
      ? value
      : `SIG${value}`;
  // SIGKILL and SIGSTOP cannot be handled, so they cannot ask for a drain.
  return name !== undefined && name in SIGNALS && name !== 'SIGKILL' && name !== 'SIGSTOP' ? name : undefined;
}

export function signalNumber(name: string): number {
  return SIGNALS[name] ?? 0;
}

/** A waitpid() status as a person reads it: "exit 3" or "SIGKILL". */
export function describeWaitStatus(status: number): string {
  const signal = status & 0x7f;
  if (signal === 0) return `exit ${(status >> 8) & 0xff}`;
  return Object.keys(SIGNALS).find((name) => SIGNALS[name] === signal) ?? `signal ${signal}`;
}
