import type { Http2Bindings, HttpBindings } from '@hono/node-server';

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
