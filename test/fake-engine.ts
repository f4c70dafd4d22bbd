import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

// A FAKE OpenAI-compatible inference engine, for tests only. A real engine (vLLM,
// LoRAX) needs a GPU; this one is a real HTTP server speaking the same request and
// response shapes — streamed chat completions with usage and logprobs, vLLM's dynamic
// LoRA load/unload routes and error bodies — so the worker's relay, SSE parsing,
// adapter loading and failure handling run over real sockets. Its "model" is string
// handling: by default it quotes the first sentence of sources [1] and [2].
//
// It also scores like vLLM: `prompt_logprobs` on a chat completion returns one entry per
// prompt token (the first null). Tokens are whitespace-separated words; a word of a final
// assistant message (`continue_final_message`) scores -0.1 when it occurs in an earlier
// message — the sources, in a citepay prompt — and -4 when it does not, so removing the
// source an answer copies from lowers the answer's log-probability and removing any other
// source does not.
export interface ChatRequest {
  model: string;
  messages: { role: string; content: string }[];
  max_tokens?: number;
  temperature?: number;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  logprobs?: boolean;
  /** vLLM: log-probs of the prompt tokens (0: only the token itself), in `prompt_logprobs`. */
  prompt_logprobs?: number | null;
  /** vLLM chat-template options; add_generation_prompt defaults to true. */
  add_generation_prompt?: boolean;
  continue_final_message?: boolean;
  echo?: boolean;
}

export interface FakeEngineOptions {
  /** Pause before each streamed token, to make a job take a while. */
  delayMsPerToken?: number;
  /** Answer every chat completion with this HTTP status. */
  failWith?: number;
  reply?: (req: ChatRequest) => string;
  baseModel?: string;
  /** Answer every chat completion that asks for `prompt_logprobs` with this HTTP status. */
  failScoringWith?: number;
  /** Pause before answering a `prompt_logprobs` request, so requests sent together overlap. */
  scoringDelayMs?: number;
  /**
   * Holds a completion before its last part (a stream's finish chunk, or the whole non-streamed
   * reply) until the returned promise settles: a test decides when a generation may end, instead of
   * racing a timer. Return nothing to let the request finish as usual.
   */
  holdBeforeFinish?: (req: ChatRequest) => Promise<void> | undefined;
}

type Path = '/v1/chat/completions' | '/v1/load_lora_adapter' | '/v1/unload_lora_adapter' | '/v1/models';

export interface FakeEngine {
  url: string;
  /** JSON bodies received, per path (GET /v1/models records `{}`). */
  requests: Record<Path, any[]>;
  /** LoRA adapters currently loaded, by name. */
  loaded: Set<string>;
  /** Chat completions being answered now, and the most there have been at once. */
  chat: { inFlight: number; peakInFlight: number };
  setDown(down: boolean): void;
  stop(): Promise<void>;
}

export const FAKE_BASE_MODEL = 'fake-base';

export async function startFakeEngine(options: FakeEngineOptions = {}): Promise<FakeEngine> {
  const base = options.baseModel ?? FAKE_BASE_MODEL;
  const requests: Record<Path, any[]> = {
    '/v1/chat/completions': [],
    '/v1/load_lora_adapter': [],
    '/v1/unload_lora_adapter': [],
    '/v1/models': [],
  };
  const loaded = new Set<string>();
  const paths = new Map<string, string>();
  const chatStats = { inFlight: 0, peakInFlight: 0 };
  let down = false;

  const server = createServer(async (req, res) => {
    const path = (req.url ?? '').split('?')[0] as Path;
    const body = req.method === 'POST' ? await readJson(req) : {};
    if (path in requests) requests[path].push(body);
    if (down) return error(res, 503, 'ServiceUnavailableError', 'the fake engine is down');
    if (req.method === 'GET' && path === '/v1/models') {
      const card = (id: string, root: string, parent: string | null) => ({
        id,
        object: 'model',
        created: 0,
        owned_by: 'fake-engine',
        root,
        parent,
      });
      return json(res, 200, {
        object: 'list',
        data: [card(base, base, null), ...[...loaded].map((id) => card(id, paths.get(id)!, base))],
      });
    }
    if (req.method !== 'POST') return error(res, 404, 'NotFoundError', `no route ${req.method} ${path}`);
    if (path === '/v1/load_lora_adapter') {
      const { lora_name: name, lora_path: dir } = body as { lora_name?: string; lora_path?: string };
      if (!name || !dir)
        return error(res, 400, 'InvalidUserInput', "Both 'lora_name' and 'lora_path' must be provided.");
      if (loaded.has(name))
        return error(res, 400, 'InvalidUserInput', `The lora adapter '${name}' has already been loaded.`);
      if (!existsSync(join(dir, 'adapter_model.safetensors')))
        return error(res, 404, 'NotFoundError', `No adapter found for ${dir}`);
      loaded.add(name);
      paths.set(name, dir);
      return text(res, 200, `Success: LoRA adapter '${name}' added successfully.`);
    }
    if (path === '/v1/unload_lora_adapter') {
      const name = (body as { lora_name?: string }).lora_name ?? '';
      if (!loaded.delete(name)) return error(res, 404, 'NotFoundError', `The lora adapter '${name}' cannot be found.`);
      return text(res, 200, `Success: LoRA adapter '${name}' removed successfully.`);
    }
    if (path === '/v1/chat/completions') {
      chatStats.peakInFlight = Math.max(chatStats.peakInFlight, ++chatStats.inFlight);
      res.once('close', () => void chatStats.inFlight--);
      if (options.failWith)
        return error(res, options.failWith, 'BadRequestError', `fake engine failure ${options.failWith}`);
      const chat = body as ChatRequest;
      if (chat.model !== base && !loaded.has(chat.model))
        return error(res, 404, 'NotFoundError', `The model \`${chat.model}\` does not exist.`);
      const refused = invalidTemplateOptions(chat);
      if (refused) return error(res, 400, 'BadRequestError', refused);
      const scoring = typeof chat.prompt_logprobs === 'number';
      if (scoring && options.failScoringWith)
        return error(
          res,
          options.failScoringWith,
          'BadRequestError',
          `fake engine scoring failure ${options.failScoringWith}`,
        );
      if (scoring && options.scoringDelayMs) await new Promise((r) => setTimeout(r, options.scoringDelayMs));
      const extra = scoring ? { prompt_logprobs: promptLogprobs(chat) } : {};
      return complete(chat, res, options.reply?.(chat) ?? defaultReply(chat), options.delayMsPerToken ?? 0, extra, () =>
        options.holdBeforeFinish?.(chat),
      );
    }
    return error(res, 404, 'NotFoundError', `no route ${path}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    loaded,
    chat: chatStats,
    setDown: (value) => void (down = value),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function complete(
  chat: ChatRequest,
  res: ServerResponse,
  reply: string,
  delayMs: number,
  extra: Record<string, unknown> = {},
  hold: () => Promise<void> | undefined = () => undefined,
): Promise<void> {
  const all = reply.match(/\s*\S+/g) ?? [];
  const tokens = chat.max_tokens !== undefined ? all.slice(0, chat.max_tokens) : all;
  const finish = tokens.length < all.length ? 'length' : 'stop';
  const logprob = (i: number) => -0.05 * ((i % 4) + 1); // deterministic, so a test can check the mean
  const usage = {
    prompt_tokens: chat.messages.reduce((n, m) => n + (m.content.match(/\S+/g)?.length ?? 0), 0),
    completion_tokens: tokens.length,
    total_tokens: 0,
  };
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
  const logprobsOf = (ts: string[], from: number) =>
    chat.logprobs
      ? {
          content: ts.map((t, i) => ({
            token: t,
            logprob: logprob(from + i),
            bytes: [...Buffer.from(t)],
            top_logprobs: [],
          })),
        }
      : null;
  const head = { id: `chatcmpl-fake-${Date.now()}`, created: Math.floor(Date.now() / 1000), model: chat.model };

  if (!chat.stream) {
    await hold();
    return json(res, 200, {
      ...head,
      object: 'chat.completion',
      usage,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: tokens.join('') },
          logprobs: logprobsOf(tokens, 0),
          finish_reason: finish,
        },
      ],
      ...extra,
    });
  }
  const withUsage = chat.stream_options?.include_usage === true;
  const send = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    res.write(
      `data: ${JSON.stringify({ ...head, object: 'chat.completion.chunk', choices, ...(withUsage ? { usage: null } : {}), ...extra })}\n\n`,
    );
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  send([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
  for (const [i, token] of tokens.entries()) {
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    if (res.destroyed) return; // the client went away
    send([{ index: 0, delta: { content: token }, logprobs: logprobsOf([token], i), finish_reason: null }]);
  }
  await hold();
  if (res.destroyed) return;
  send([{ index: 0, delta: {}, logprobs: null, finish_reason: finish }]);
  if (withUsage) send([], { usage });
  res.end('data: [DONE]\n\n');
}

/** vLLM's refusals of chat-template options that cannot work together. */
function invalidTemplateOptions(chat: ChatRequest): string | null {
  if (chat.stream && typeof chat.prompt_logprobs === 'number')
    return '`prompt_logprobs` are not available when `stream=True`.';
  if (!chat.continue_final_message) return null;
  if (chat.add_generation_prompt !== false)
    return 'Cannot set both `continue_final_message` and `add_generation_prompt` to True.';
  if (chat.messages.at(-1)?.role !== 'assistant')
    return '`continue_final_message` needs the final message to be an assistant message.';
  return null;
}

type PromptLogprob = Record<string, { logprob: number; rank: number; decoded_token: string }>;

/**
 * vLLM's `prompt_logprobs`: null for the first token, then `{ "<token id>": { logprob, rank,
 * decoded_token } }` for each prompt token. A word of the final assistant message being
 * continued scores -0.1 when an earlier message contains it and -4 when none does; the
 * earlier messages' own words score -2. As many entries as `usage.prompt_tokens`.
 */
function promptLogprobs(chat: ChatRequest): (PromptLogprob | null)[] {
  const final = chat.continue_final_message ? chat.messages.at(-1) : undefined;
  const context = new Set(chat.messages.filter((m) => m !== final).flatMap((m) => words(m.content).map(normalize)));
  const entries: (PromptLogprob | null)[] = [];
  for (const m of chat.messages)
    for (const word of words(m.content)) {
      if (entries.length === 0) {
        entries.push(null); // nothing comes before the first token
        continue;
      }
      const logprob = m !== final ? -2 : context.has(normalize(word)) ? -0.1 : -4;
      entries.push({ [String(tokenId(word))]: { logprob, rank: logprob > -1 ? 1 : 50, decoded_token: word } });
    }
  return entries;
}

const words = (text: string) => text.match(/\S+/g) ?? [];
/** "Tides," and "tides" are the same word. */
const normalize = (word: string) => word.toLowerCase().replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '') || word;

/** A stable id per word (FNV-1a), standing in for a vocabulary index. */
function tokenId(word: string): number {
  let h = 0x811c9dc5;
  for (const c of Buffer.from(word)) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return h % 150_000;
}

/** The first sentence of source [1], and of [2] when there is one, each with its marker. */
export function defaultReply(chat: ChatRequest): string {
  const prompt = [...chat.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  const firstSentences = new Map<number, string>();
  for (const m of prompt.matchAll(/^\[(\d+)\][^\n]*\n([^\n]+)/gm))
    firstSentences.set(Number(m[1]), m[2]!.split(/(?<=[.!?])\s+/)[0]!);
  const cited = [1, 2].filter((n) => firstSentences.has(n)).map((n) => `${firstSentences.get(n)} [${n}]`);
  return cited.length > 0 ? cited.join(' ') : 'The sources do not say.';
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return {};
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
}

/** vLLM's error body. */
function error(res: ServerResponse, status: number, type: string, message: string): void {
  json(res, status, { object: 'error', message, type, param: null, code: status });
}
