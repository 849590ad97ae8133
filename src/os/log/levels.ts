// The levels of --log-level and the formats of --log-format. Apart from log-format.ts, which loads winston:
// the option parser needs these names, and the control commands (status, reload, stop) must not load winston.

/** Most severe first. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'verbose', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
