import { AsyncLocalStorage } from 'node:async_hooks';

// JSON lines to stdout/stderr; one object per event so logs stay greppable and parseable.
// Every line written while a request is handled carries its requestId (logScope), and secrets
// never reach a line: fields named like credentials are masked, and API keys and database
// passwords inside any string are cut out.
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type Logger = Record<Exclude<LogLevel, 'silent'>, (msg: string, fields?: Record<string, unknown>) => void>;

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

/** Where finished lines go: stdout/stderr on Node and Lambda; the console in a Worker (which has no stdio). */
export type LogSink = (level: Exclude<LogLevel, 'silent'>, line: string) => void;

const stdio: LogSink = (l, line) =>
  (l === 'error' || l === 'warn' ? process.stderr : process.stdout).write(`${line}\n`);

/** Fields added to every line logged inside `logScope.run(fields, …)` (the request id, per request). */
export const logScope = new AsyncLocalStorage<Record<string, unknown>>();

const SECRET_FIELD = /authorization|api[-_]?key|password|secret|private[-_]?key|settler[-_]?key|^key$|token$/i;
const API_KEY = /\bcp_(live|test)_[A-Za-z0-9]{6,}/g;
const URL_PASSWORD = /(\w+:\/\/[^:/?#\s]+:)[^@/\s]+@/g;
/** An account or contract address is public (a private key is 32 bytes, not 20): never masked. */
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** JSON.stringify replacer: bigints as strings, credentials masked. */
export function redact(key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  const secretField = key && SECRET_FIELD.test(key) && !(typeof value === 'string' && ADDRESS.test(value));
  if (secretField && (typeof value === 'string' || typeof value === 'number')) return '[redacted]';
  if (typeof value === 'string')
    return value.replace(API_KEY, 'cp_$1_[redacted]').replace(URL_PASSWORD, '$1[redacted]@');
  return value;
}

export function createLogger(level: LogLevel, base: Record<string, unknown> = {}, sink: LogSink = stdio): Logger {
  const at =
    (l: Exclude<LogLevel, 'silent'>) =>
    (msg: string, fields: Record<string, unknown> = {}) => {
      if (ORDER[l] < ORDER[level]) return;
      const line = JSON.stringify(
        { level: l, time: new Date().toISOString(), msg, ...base, ...logScope.getStore(), ...fields },
        redact,
      );
      sink(l, line);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
