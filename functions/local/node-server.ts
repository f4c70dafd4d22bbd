import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { serve, type Http2Bindings, type HttpBindings } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { LIMITS } from '../api/input-guard.ts';
import { newId } from '../../shared/ids.ts';

type Fetch = (request: Request, env?: unknown) => Response | Promise<Response>;

/**
 * `app.fetch` for @hono/node-server. An answer sent before the request body was read (a 413 from
 * the body limit, a 401 before a large upload) leaves the rest of that body on the socket; reusing
 * the connection would make it the start of the next request. Such answers say `Connection: close`,
 * so the client opens a fresh connection for its next request instead of a broken one.
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
    }
    return response;
  };
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
export function serveApi(fetch: Fetch, options: { port: number; hostname?: string }, listening?: (info: AddressInfo) => void) {
  const server = serve({ fetch: nodeFetch(fetch), ...options, serverOptions: { maxHeaderSize: LIMITS.headerBytes } }, listening) as Server;
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
