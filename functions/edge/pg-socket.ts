import type { Duplex } from 'node:stream';
import * as pgCloudflare from 'pg-cloudflare';

// node-postgres writes each protocol message of a parameterised query (Parse, Bind, Describe,
// Execute, Sync) as its own socket write. Node's socket sets TCP_NODELAY; a Worker's
// cloudflare:sockets socket cannot, so Nagle's algorithm holds the later writes until the server
// ACKs the first, which it delays (~40 ms on Linux): measured at +40 ms per query through workerd.
// Writes made in the same tick are therefore sent as one: one segment, no wait.

type WriteCallback = (error?: unknown) => void;
interface CloudflareSocketLike {
  write(
    data: Uint8Array | string,
    encodingOrCallback?: BufferEncoding | WriteCallback,
    callback?: WriteCallback,
  ): true | void;
}
// Typed by hand: the package's types resolve to its empty Node build outside the workerd condition.
const { CloudflareSocket } = pgCloudflare as unknown as {
  CloudflareSocket: new (ssl: boolean) => CloudflareSocketLike;
};

/** pg's `stream` option: pg-cloudflare's socket with same-tick writes coalesced. */
export function coalescingSocket(config?: { ssl?: unknown }): Duplex {
  const socket = new CloudflareSocket(Boolean(config?.ssl)); // pg passes its connection config (its types omit it);
  const send = socket.write.bind(socket);
  let pending: { data: Uint8Array; callback: WriteCallback }[] = [];
  socket.write = (data, encodingOrCallback = 'utf8', callback = () => {}) => {
    if (typeof encodingOrCallback === 'function') callback = encodingOrCallback;
    const bytes =
      typeof data === 'string'
        ? Buffer.from(data, typeof encodingOrCallback === 'string' ? encodingOrCallback : 'utf8')
        : data;
    if (pending.length === 0)
      queueMicrotask(() => {
        const batch = pending;
        pending = [];
        send(Buffer.concat(batch.map((w) => w.data)), (error) => batch.forEach((w) => w.callback(error)));
      });
    pending.push({ data: bytes, callback });
    return true;
  };
  return socket as unknown as Duplex;
}
