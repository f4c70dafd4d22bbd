import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { serve, type Http2Bindings, type HttpBindings } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { LIMITS } from '../api/input-guard.ts';
import { newId } from '../../shared/ids.ts';

type Fetch = (request: Request, env?: unknown) => Response | Promise<Response>;

/** The most of an unread body drained before answering, and for how long: beyond either, the connection is closed. */
export const DRAIN_LIMIT = { bytes: 64 * 1024 * 1024, ms: 30_000 };

/**
 * `app.fetch` for @hono/node-server. An answer sent before the request body was read (a 413 from
 * the body limit, a 401 before a large upload) leaves the rest of that body on the socket; reusing
 * the connection would make it the start of the next request. Such answers say `Connection: close`,
 * so the client opens a fresh connection for its next request instead of a broken one.
 *
 * Closing while the client is still writing its body would make it see EPIPE/ECONNRESET instead
 * of the answer (most clients write the whole body before they read). So the rest of a body is
 * first read and discarded, up to DRAIN_LIMIT (bytes and time); only a body beyond that is cut off.
 */
export function nodeFetch(fetch: Fetch) {
  return async (request: Request, env: HttpBindings | Http2Bindings) => {
    const response = await fetch(request, env);
    if (hasUnreadBody(env.incoming)) {
      try {
        response.headers.set('connection', 'close');
      } catch {
        // Immutable headers (a proxied Response): Node's drain-or-close still protects the socket.
      }
      await drain(request, env.incoming);
    }
    return response;
  };
}

/**
 * Reads and discards the rest of the body; true when it all arrived within DRAIN_LIMIT. Read through
 * the Request's own stream when nobody has (@hono/node-server already wraps the socket in it, and
 * that wrapper pauses the socket once its buffer is full); else straight from the socket.
 */
async function drain(request: Request, incoming: (HttpBindings | Http2Bindings)['incoming']): Promise<boolean> {
  const declared = Number(incoming.headers['content-length'] ?? 0);
  if (incoming.destroyed || incoming.readableEnded || declared > DRAIN_LIMIT.bytes) return false;
  const giveUpAt = Date.now() + DRAIN_LIMIT.ms;
  // Read partly and given up on (the body limit counting a chunked body): left to Node to close.
  if (request.bodyUsed || request.body?.locked) return false;
  if (request.body) {
    const reader = request.body.getReader();
    let seen = 0;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), DRAIN_LIMIT.ms)));
    try {
      for (;;) {
        const next = await Promise.race([reader.read(), late]);
        if (next === 'late') return false;
        if (next.done) return true;
        seen += next.value.byteLength;
        if (seen > DRAIN_LIMIT.bytes || Date.now() > giveUpAt) return false;
      }
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
      try {
        reader.releaseLock();
      } catch {
        // a read still pending (gave up waiting): the connection is closed anyway
      }
    }
  }
  return new Promise((resolve) => {
    let seen = 0;
    const finish = (drained: boolean) => {
      clearTimeout(timer);
      incoming.off('data', onData).off('end', onEnd).off('error', onFail).off('close', onFail);
      resolve(drained);
    };
    const onData = (chunk: Buffer | string) => {
      seen += chunk.length;
      if (seen > DRAIN_LIMIT.bytes) finish(false);
    };
    const onEnd = () => finish(true);
    const onFail = () => finish(false);
    const timer = setTimeout(onFail, DRAIN_LIMIT.ms);
    incoming.on('data', onData).once('end', onEnd).once('error', onFail).once('close', onFail);
    incoming.resume();
  });
}

function hasUnreadBody(incoming: (HttpBindings | Http2Bindings)['incoming']): boolean {
  if (incoming.readableEnded || incoming.method === 'GET' || incoming.method === 'HEAD') return false;
  const length = Number(incoming.headers['content-length'] ?? 0);
  return length > 0 || incoming.headers['transfer-encoding'] !== undefined;
}

/**
 * The API on a Node HTTP server: `nodeFetch`, request headers capped at LIMITS.headerBytes, and
 * requests Node's parser refuses (headers too large, malformed HTTP) answered in the one error shape.
 */
export function serveApi(
  fetch: Fetch,
  options: { port: number; hostname?: string },
  listening?: (info: AddressInfo) => void,
) {
  const server = serve(
    { fetch: nodeFetch(fetch), ...options, serverOptions: { maxHeaderSize: LIMITS.headerBytes } },
    listening,
  ) as Server;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return socket.destroy();
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const body = JSON.stringify({
      error: {
        code: tooLarge ? 'HEADERS_TOO_LARGE' : 'BAD_REQUEST',
        message: tooLarge ? `request headers exceed ${LIMITS.headerBytes} bytes` : 'malformed HTTP request',
        requestId: newId('request'),
      },
    });
    socket.end(
      `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\ncontent-type: application/json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  return server;
}
