// How an MCP tool reaches the API: a sub-request through the same Hono app, carrying the
// caller's credentials (API key, or an x402 payment). So a tool call is authenticated, rate
// limited, validated, billed, made idempotent and refused exactly as the REST call is — the
// same middleware runs — and its errors carry the same codes and messages.

/** The caller's headers that a sub-request carries on. */
export const FORWARDED_HEADERS = ['authorization', 'x-api-key', 'payment-signature', 'x-payment'] as const;

export interface RestResponse {
  status: number;
  headers: Headers;
  /** JSON bodies parsed; event streams left as `stream` */
  body: unknown;
  stream: ReadableStream<Uint8Array> | null;
}

export type RestCall = (
  method: 'GET' | 'POST',
  path: string,
  init?: { json?: unknown; headers?: Record<string, string> },
) => Promise<RestResponse>;

/** A RestCall over `fetch` (the app's own), with the forwarded headers of `incoming`. */
export function restCaller(fetch: (request: Request) => Promise<Response> | Response, incoming: Request): RestCall {
  const base = new URL(incoming.url).origin;
  const carried: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    const value = incoming.headers.get(name);
    if (value) carried[name] = value;
  }
  return async (method, path, init = {}) => {
    const headers: Record<string, string> = { ...carried, ...(init.headers ?? {}) };
    if (init.json !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(
      new Request(`${base}${path}`, {
        method,
        headers,
        body: init.json === undefined ? undefined : JSON.stringify(init.json),
      }),
    );
    if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream'))
      return { status: res.status, headers: res.headers, body: null, stream: res.body };
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON: left as text */
    }
    return { status: res.status, headers: res.headers, body, stream: null };
  };
}

/** Server-sent events of a stream, as { event, data } pairs (data parsed as JSON). */
export async function* readEvents(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<{ event: string; data: unknown }> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length) yield { event, data: JSON.parse(data.join('\n')) };
    }
  }
}
