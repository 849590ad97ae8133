import { constants } from 'node:os';

const SIGNALS = constants.signals as Record<string, number>;

/** "TERM", "sigterm", "SIGTERM" or "15" → "SIGTERM"; undefined for anything else. */
export function normalizeSignal(text: string): string | undefined {
  const value = text.trim().toUpperCase();
  if (/^\d+$/.test(value)) return Object.keys(SIGNALS).find((name) => SIGNALS[name] === Number(value));
  const name = value.startsWith('SIG') ? value : `SIG${value}`;
  return name in SIGNALS && name !== 'SIGKILL' && name !== 'SIGSTOP' ? name : undefined;
}

export function signalNumber(name: string): number {
  return SIGNALS[name] ?? 0;
}
