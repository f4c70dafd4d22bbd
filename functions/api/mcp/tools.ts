import { z } from '@hono/zod-openapi';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AnswerView, CitationView } from '../views/answer.ts';
import { DatanetView } from '../routes/datanets.ts';
import { ReceiptResponse } from '../routes/settlement.ts';
import { RetrieveResponse } from '../views/retrieval.ts';
import { readEvents, type RestCall, type RestResponse } from './rest-call.ts';

// citepay's MCP tools. Each is one REST call (rest-call.ts): its JSON body is the tool's
// structuredContent (the same schema as the REST response), with a text rendering for the model.

export const TOOL_NAMES = ['search', 'answer', 'get_receipt', 'list_datanets'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

const datanets = z
  .array(z.string())
  .max(50)
  .optional()
  .describe('dn_… ids to search (default: every datanet); list_datanets names them');
const idempotencyKey = z
  .string()
  .min(1)
  .max(255)
  .optional()
  .describe('a retry with the same key returns the first result and is never billed twice');

const SearchInput = {
  query: z.string().describe('what to look for'),
  datanets,
  topK: z.number().int().optional().describe('how many passages (1–50, default 5)'),
  perDocument: z.number().int().optional().describe('passages per document (default 1)'),
  idempotencyKey,
};

const AnswerInput = {
  query: z.string().describe('the question'),
  datanets,
  topK: z.number().int().optional().describe('sources shown to the model (1–20, default 5)'),
  model: z.string().optional().describe('a model id (GET /v1/models) or an ad_… adapter id; default extractive'),
  maxTokens: z.number().int().optional(),
  temperature: z.number().optional(),
  idempotencyKey,
};

/** The answer tool's structured result: the finished answer as the SSE stream delivered it. */
const McpAnswer = z.object({
  id: z.string(),
  requestId: z.string(),
  status: AnswerView.shape.status,
  text: z.string(),
  citations: z.array(CitationView),
  invalidMarkers: AnswerView.shape.invalidMarkers,
  sources: AnswerView.shape.sources,
  usage: z.record(z.string(), z.unknown()),
  attribution: z.record(z.string(), z.unknown()),
});

const ListDatanetsOutput = z.object({ data: z.array(DatanetView) });

/** An MCP server (one per request: the transport is stateless) offering `tools` over `call`. */
export function citepayMcpServer(call: RestCall, tools: readonly ToolName[]): McpServer {
  const server = new McpServer(
    { name: 'citepay', version: '1.0.0' },
    {
      instructions:
        'Paid, cited retrieval: every passage names its owner, and each call is billed to your API key (or paid per call with x402) with a receipt you can check with get_receipt.',
    },
  );
  const has = (name: ToolName) => tools.includes(name);

  if (has('search'))
    server.registerTool(
      'search',
      {
        title: 'Search citepay datanets',
        description:
          'Paid retrieval: the passages that best match the query, each with its document, character span and owner wallet; bills the listed price of each returned source and returns the receipt id.',
        inputSchema: SearchInput,
        outputSchema: RetrieveResponse,
        annotations: { readOnlyHint: false, idempotentHint: false, openWorldHint: false },
      },
      async (args) => {
        const res = await call('POST', '/v1/retrieve', {
          json: omitKey(args),
          headers: keyHeader(args.idempotencyKey),
        });
        if (res.status !== 200) return toolError(res);
        const body = res.body as z.infer<typeof RetrieveResponse>;
        return { content: [{ type: 'text', text: searchText(body) }], structuredContent: body };
      },
    );

  if (has('answer'))
    server.registerTool(
      'answer',
      {
        title: 'Cited answer',
        description:
          'Answers the question from citepay datanets with [n] citation markers, each tied to a source passage and its owner; billed once when it completes. Sends progress notifications with the text as it is generated.',
        inputSchema: AnswerInput,
        outputSchema: McpAnswer,
        annotations: { readOnlyHint: false, idempotentHint: false, openWorldHint: false },
      },
      async (args, extra) => {
        const res = await call('POST', '/v1/answers', {
          json: { ...omitKey(args), mode: 'stream' },
          headers: keyHeader(args.idempotencyKey),
        });
        if (res.status !== 200 || !res.stream) return toolError(res);
        const progressToken = extra._meta?.progressToken;
        const partial: Record<string, unknown> = { requestId: res.headers.get('x-request-id') ?? '' };
        let streamed = '';
        for await (const { event, data } of readEvents(res.stream)) {
          const d = data as Record<string, unknown>;
          if (event === 'error') return toolError({ ...res, status: 0, body: d });
          if (event === 'answer.created') Object.assign(partial, { id: d.id, sources: d.sources });
          if (event === 'citations')
            Object.assign(partial, { text: d.text, citations: d.citations, invalidMarkers: d.invalidMarkers });
          if (event === 'done')
            Object.assign(partial, { status: d.status, usage: d.usage, attribution: d.attribution });
          if (event === 'delta' && progressToken !== undefined) {
            streamed += (d as { text: string }).text;
            await extra.sendNotification({
              method: 'notifications/progress',
              params: { progressToken, progress: streamed.length, message: (d as { text: string }).text },
            });
          }
        }
        const answer = McpAnswer.safeParse(partial);
        if (!answer.success)
          return errorResult(
            'SERVICE_UNAVAILABLE',
            'the answer stream ended before the answer was done; retry with the same idempotencyKey to get it without paying twice',
          );
        return { content: [{ type: 'text', text: answerText(answer.data) }], structuredContent: answer.data };
      },
    );

  if (has('get_receipt'))
    server.registerTool(
      'get_receipt',
      {
        title: 'Attribution receipt',
        description:
          'The attribution receipt of a paid call (by rcpt_… or req_… id): who was paid how much for which source, its hash, and its Merkle proof once settled on chain.',
        inputSchema: { id: z.string().describe('a rcpt_… or req_… id') },
        outputSchema: ReceiptResponse,
        annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
      },
      async ({ id }) => {
        const res = await call('GET', `/v1/receipts/${encodeURIComponent(id)}`);
        if (res.status !== 200) return toolError(res);
        const body = res.body as z.infer<typeof ReceiptResponse>;
        const settled = body.settlement
          ? `settled in epoch ${body.settlement.epoch} (${body.settlement.status})`
          : 'not settled yet (open epoch)';
        return {
          content: [
            {
              type: 'text',
              text: `Receipt ${body.id} for ${body.requestId}: hash ${body.hash}, ${settled}.\n${body.canonical}`,
            },
          ],
          structuredContent: body,
        };
      },
    );

  if (has('list_datanets'))
    server.registerTool(
      'list_datanets',
      {
        title: 'List datanets',
        description:
          'The datanets (collections of documents) that search and answer read from, with their owners and price per source.',
        inputSchema: {},
        outputSchema: ListDatanetsOutput,
        annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
      },
      async () => {
        const res = await call('GET', '/v1/datanets');
        if (res.status !== 200) return toolError(res);
        const body = res.body as z.infer<typeof ListDatanetsOutput>;
        const lines = body.data.map(
          (d) =>
            `${d.id} "${d.name}": ${d.pricePerSource} micro-USD per source, owner ${d.ownerWallet}${d.description ? ` — ${d.description}` : ''}`,
        );
        return {
          content: [{ type: 'text', text: lines.length ? lines.join('\n') : 'No datanets yet.' }],
          structuredContent: body,
        };
      },
    );

  return server;
}

const omitKey = <T extends { idempotencyKey?: string | undefined }>({ idempotencyKey: _, ...rest }: T) => rest;
const keyHeader = (key: string | undefined): Record<string, string> => (key ? { 'idempotency-key': key } : {});

interface ErrorBody {
  error: { code: string; message: string; requestId?: string; details?: Record<string, unknown> };
}

/** A REST error as an MCP tool error: the same code and message, and for 402 how to pay. */
export function toolError(res: Pick<RestResponse, 'status' | 'body' | 'headers'>): CallToolResult {
  const body = res.body as Partial<ErrorBody> | null;
  const err = body?.error ?? { code: 'INTERNAL', message: `unexpected response ${res.status}` };
  let text = `${err.code}: ${err.message}`;
  if (err.requestId) text += ` (requestId ${err.requestId})`;
  if (err.details) text += `\ndetails: ${JSON.stringify(err.details)}`;
  if (err.code === 'PAYMENT_REQUIRED') text += `\n${paymentHint(res.headers.get('payment-required'))}`;
  return { content: [{ type: 'text', text }], isError: true, _meta: { 'citepay/error': err } };
}

function errorResult(code: string, message: string): CallToolResult {
  return {
    content: [{ type: 'text', text: `${code}: ${message}` }],
    isError: true,
    _meta: { 'citepay/error': { code, message } },
  };
}

/** How to pay, for a 402: top up the key's credits, or pay per call with x402 over REST. */
function paymentHint(paymentRequired: string | null): string {
  const x402 = paymentRequired
    ? `This server takes x402 payments: its PAYMENT-REQUIRED header (base64 JSON) was ${paymentRequired}`
    : 'Or pay per call with x402: call the REST route (POST /v1/retrieve, /v1/answers) without an API key and pay the 402 it returns.';
  return `To pay: an account admin adds credits (POST /v1/admin/accounts/{id}/credits), or use a key whose account has credits. ${x402}`;
}

function searchText(r: z.infer<typeof RetrieveResponse>): string {
  const passages = r.sources.map(
    (s) =>
      `[${s.index}] ${s.title} (document ${s.documentId}, chars ${s.span.start}–${s.span.end}, datanet ${s.datanetId}, owner ${s.contributor.wallet}, score ${s.score.toFixed(3)})\n${s.text}`,
  );
  const head = passages.length ? passages.join('\n\n') : 'No matching passages (nothing was charged for sources).';
  return `${head}\n\nCharged ${r.usage.charged} micro-USD; balance ${r.usage.balance}. Receipt ${r.attribution.receiptId} (request ${r.requestId}). Cite passages as [n].`;
}

function answerText(a: z.infer<typeof McpAnswer>): string {
  const sources = a.sources.map(
    (s) =>
      `[${s.number}] ${s.title} (document ${s.documentId}, chars ${s.span.start}–${s.span.end}, owner ${s.contributor.wallet})`,
  );
  const usage = a.usage as { charged?: string };
  const receipt = (a.attribution as { receiptId?: string }).receiptId;
  return `${a.text}\n\nSources:\n${sources.join('\n')}\n\nCharged ${usage.charged ?? '?'} micro-USD. Receipt ${receipt ?? '?'} (answer ${a.id}, request ${a.requestId}).`;
}
