// A port whose adapter can be replaced while the process runs: every caller holds `port`, and each
// property read goes to the adapter in use at that moment. A joiner (follow-peer.ts) swaps its queue
// and chain clients this way when its peer's services move, without rebuilding the services or the app.
export interface Switchable<T extends object> {
  readonly port: T;
  current(): T;
  use(next: T): void;
}

export function switchable<T extends object>(initial: T): Switchable<T> {
  let current = initial;
  const port = new Proxy({} as T, {
    get(_, key) {
      const value = Reflect.get(current, key, current);
      return typeof value === 'function' ? value.bind(current) : value;
    },
    has: (_, key) => Reflect.has(current, key),
  });
  return { port, current: () => current, use: (next) => void (current = next) };
}
