import { OpenAPIHono } from '@hono/zod-openapi';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { Context } from 'hono';
import type { AppEnv } from '../env.ts';
import { restCaller } from '../mcp/rest-call.ts';
import { citepayMcpServer, type ToolName } from '../mcp/tools.ts';

/** The app's own fetch, with the runtime's env and execution context (the edge Worker needs both). */
export type AppFetch = (
  request: Request,
  env: unknown,
  ctx: Context['executionCtx'] | undefined,
) => Promise<Response> | Response;

const jsonRpcError = (code: number, message: string) => ({
  jsonrpc: '2.0' as const,
  error: { code, message },
  id: null,
});

/**
 * POST /mcp: a remote MCP server over Streamable HTTP, stateless (no session: each POST gets a
 * fresh server and transport, so any process or Worker isolate can serve any request). Tools call
 * the REST routes of `appFetch` with the caller's credentials (see mcp/rest-call.ts).
 */
export function mcpRoutes(appFetch: AppFetch, tools: readonly ToolName[]) {
  return new OpenAPIHono<AppEnv>().all('/mcp', async (c) => {
    // Stateless: no server-initiated stream (GET) and no session to end (DELETE).
    if (c.req.method !== 'POST') {
      c.header('Allow', 'POST');
      return c.json(
        jsonRpcError(-32000, `${c.req.method} is not supported: this MCP server is stateless; POST JSON-RPC messages`),
        405,
      );
    }
    let body: unknown;
    try {
      // inputGuard has read the body already; Hono keeps it, the raw stream is spent
      body = await c.req.json();
    } catch {
      return c.json(jsonRpcError(-32700, 'Parse error: the body is not JSON'), 400);
    }
    let ctx: Context['executionCtx'] | undefined;
    try {
      ctx = c.executionCtx;
    } catch {
      ctx = undefined; // Node and Lambda have none
    }
    const call = restCaller((request) => appFetch(request, c.env, ctx), c.req.raw);
    const server = citepayMcpServer(call, tools);
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    await server.connect(transport);
    return transport.handleRequest(c.req.raw, { parsedBody: body });
  });
}
