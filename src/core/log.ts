// The one logging shape every stage takes: a level and a line. Threads forward it to the main
// thread (core/messages.ts), which writes it to stderr (journald under systemd).

export type LogLevel = 'info' | 'warn' | 'error';
export type Log = (level: LogLevel, msg: string) => void;

/** Writes `msg` to stderr, prefixed with the level unless it is info. */
export const stderrLog: Log = (level, msg) => {
  process.stderr.write(`${level === 'info' ? '' : `${level.toUpperCase()}: `}${msg}\n`);
};
