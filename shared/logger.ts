// JSON lines to stdout/stderr; one object per event so logs stay greppable and parseable.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type Logger = Record<Exclude<LogLevel, 'silent'>, (msg: string, fields?: Record<string, unknown>) => void>;

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

/** Where finished lines go: stdout/stderr on Node and Lambda; the console in a Worker (which has no stdio). */
export type LogSink = (level: Exclude<LogLevel, 'silent'>, line: string) => void;

const stdio: LogSink = (l, line) => (l === 'error' || l === 'warn' ? process.stderr : process.stdout).write(`${line}\n`);

export function createLogger(level: LogLevel, base: Record<string, unknown> = {}, sink: LogSink = stdio): Logger {
  const at = (l: Exclude<LogLevel, 'silent'>) => (msg: string, fields: Record<string, unknown> = {}) => {
    if (ORDER[l] < ORDER[level]) return;
    const line = JSON.stringify({ level: l, time: new Date().toISOString(), msg, ...base, ...fields }, (_k, v) =>
      typeof v === 'bigint' ? v.toString() : v,
    );
    sink(l, line);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
