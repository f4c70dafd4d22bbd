import { EngineBadRequestError, EngineUnavailableError, TerminalJobError } from './index.ts';

// HTTP to the OpenAI-compatible engine, with its failures sorted the way the consumer
// needs them: the engine cannot serve now (unreachable, stalled, 5xx) versus it will
// never accept this request (4xx).

/** Longest silence (no headers, no body bytes) before the engine counts as unavailable. */
const IDLE_MS = 60_000;

export interface EngineResponse {
  /** The body as it arrives; every chunk resets the idle timer. */
  chunks(): AsyncGenerator<Uint8Array>;
  text(): Promise<string>;
}

export async function enginePost(
  url: string,
  body: unknown,
  options: { signal?: AbortSignal | undefined } = {},
): Promise<EngineResponse> {
  const idle = new AbortController();
  const timer = setTimeout(() => idle.abort(), IDLE_MS);
  const signal = options.signal ? AbortSignal.any([options.signal, idle.signal]) : idle.signal;
  const guard = async <T>(p: Promise<T>): Promise<T> => {
    try {
      return await p;
    } catch (err) {
      clearTimeout(timer);
      throw engineError(err, options.signal, idle.signal);
    }
  };

  const res = await guard(
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal }),
  );
  if (!res.ok) {
    const text = await res.text().catch(() => ''); // a stalled error body is cut off by the idle timer
    clearTimeout(timer);
    throw statusError(res.status, text);
  }
  return {
    async *chunks() {
      const reader = res.body!.getReader();
      try {
        for (;;) {
          const { done, value } = await guard(reader.read());
          if (done) return;
          timer.refresh();
          yield value;
        }
      } finally {
        clearTimeout(timer);
        await reader.cancel().catch(() => {}); // stopped early ([DONE] seen): free the socket
      }
    },
    async text() {
      const text = await guard(res.text());
      clearTimeout(timer);
      return text;
    },
  };
}

function engineError(err: unknown, caller: AbortSignal | undefined, idle: AbortSignal): unknown {
  if (caller?.aborted) return caller.reason; // our own abort: not the engine's fault
  if (err instanceof TerminalJobError) return err;
  if (idle.aborted) return new EngineUnavailableError('the generation engine stopped responding', { cause: err });
  return new EngineUnavailableError('the generation engine is unreachable', { cause: err });
}

/** 4xx carries the engine's own message (vLLM `{message}`, OpenAI `{error: {message}}`); 5xx and 429 mean "not now". */
export function statusError(status: number, body: string): TerminalJobError {
  if (status >= 500 || status === 429 || status === 408)
    return new EngineUnavailableError(`the generation engine answered ${status}`, { cause: body.slice(0, 500) });
  let message = body.slice(0, 500);
  try {
    const parsed = JSON.parse(body) as { message?: unknown; error?: { message?: unknown } };
    const m = parsed.error?.message ?? parsed.message;
    if (typeof m === 'string') message = m;
  } catch {
    /* plain-text body: keep it */
  }
  return new EngineBadRequestError(`the generation engine refused the request (${status}): ${message}`, status);
}
