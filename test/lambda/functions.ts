import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { BuiltLambda } from './build.ts';

// A built Lambda running under lambda-local in its own process (test/lambda/invoker.mjs), with
// only the environment the stack gives it, and its folder as the working directory (/var/task).

export interface Invocation<T> {
  result: T;
  /** wall time of the invocation, as the invoker measured it */
  ms: number;
}

export interface RunningLambda {
  /** `onChunk` gets a streaming handler's body as it is written (the API's, in RESPONSE_STREAM mode). */
  invoke<T = any>(event: unknown, timeoutMs?: number, onChunk?: (text: string) => void): Promise<Invocation<T>>;
  stop(): Promise<void>;
}

type Reply =
  | { id: number; ok: true; result: unknown; ms: number }
  | { id: number; ok: false; error: string; ms: number };
type Chunk = { id: number; chunk: string; ms: number };

export async function startLambda(built: BuiltLambda, env: Record<string, string>): Promise<RunningLambda> {
  const child: ChildProcess = fork(join(import.meta.dirname, 'invoker.mjs'), [], {
    cwd: built.dir,
    // nothing inherited from the test process but what node needs; HOME is where lambda-local
    // looks for ~/.aws profiles: the run's temporary folder has none
    env: {
      PATH: process.env.PATH ?? '',
      TMPDIR: process.env.TMPDIR ?? '/tmp',
      HOME: process.env.TMPDIR ?? '/tmp',
      ...env,
    },
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<
    number,
    { resolve: (r: Reply) => void; reject: (e: Error) => void; onChunk?: (text: string) => void }
  >();
  let exited: Error | undefined;
  child.on('exit', (code, signal) => {
    exited = new Error(`lambda ${built.name} exited (${code ?? signal})`);
    for (const p of pending.values()) p.reject(exited);
    pending.clear();
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('error', reject);
    child.once('exit', () => reject(exited));
  });
  child.on('message', (m: Reply | Chunk) => {
    if ('chunk' in m) return pending.get(m.id)?.onChunk?.(m.chunk);
    pending.get(m.id)?.resolve(m);
    pending.delete(m.id);
  });
  let next = 0;
  return {
    async invoke<T>(event: unknown, timeoutMs = 120_000, onChunk?: (text: string) => void) {
      if (exited) throw exited;
      const id = next++;
      const reply = await new Promise<Reply>((resolve, reject) => {
        pending.set(id, { resolve, reject, onChunk });
        child.send({ id, entry: built.entry, exportName: built.exportName, event, timeoutMs });
      });
      if (!reply.ok) throw new Error(`lambda ${built.name} failed: ${reply.error}`);
      return { result: reply.result as T, ms: reply.ms };
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await gone;
    },
  };
}

let requestCounter = 0;

/** A Lambda Function URL event (payload format 2.0), as AWS sends it for an HTTP request. */
export function functionUrlEvent(
  method: string,
  path: string,
  opts: { json?: unknown; key?: string; headers?: Record<string, string> } = {},
) {
  const [rawPath, rawQueryString = ''] = path.split('?') as [string, string?];
  const headers: Record<string, string> = {
    host: 'abcdefgh.lambda-url.us-east-1.on.aws',
    'user-agent': 'citepay-lambda-test',
    ...opts.headers,
  };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (opts.json !== undefined) headers['content-type'] = 'application/json';
  const now = new Date();
  const requestId = `lambda-url-${++requestCounter}`;
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers,
    ...(rawQueryString ? { queryStringParameters: Object.fromEntries(new URLSearchParams(rawQueryString)) } : {}),
    requestContext: {
      accountId: 'anonymous',
      apiId: 'abcdefgh',
      domainName: headers.host,
      domainPrefix: 'abcdefgh',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: headers['user-agent'] },
      requestId,
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(opts.json !== undefined ? { body: JSON.stringify(opts.json) } : {}),
    isBase64Encoded: false,
  };
}

/** What a Function URL handler returns (hono/aws-lambda; a streamed body as its text), with the body parsed when it is JSON. */
export interface UrlResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: any;
}

export function parseUrlResponse(raw: {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string;
  isBase64Encoded?: boolean;
}): UrlResponse {
  const text = raw.isBase64Encoded ? Buffer.from(raw.body ?? '', 'base64').toString('utf8') : (raw.body ?? '');
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { statusCode: raw.statusCode, headers: raw.headers ?? {}, body };
}

/** An EventBridge scheduled event, as a Cron's function receives it. */
export function scheduledEvent(ruleName: string) {
  return {
    version: '0',
    id: `sched-${++requestCounter}`,
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '123456789012',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [`arn:aws:events:us-east-1:123456789012:rule/${ruleName}`],
    detail: {},
  };
}

/** An SQS batch as Lambda's event source mapping delivers it, from messages received off a queue. */
export function sqsEvent(
  queueArn: string,
  messages: readonly { messageId: string; body: string; receiveCount: number }[],
) {
  return {
    Records: messages.map((m) => ({
      messageId: m.messageId,
      receiptHandle: `rh-${m.messageId}`,
      body: m.body,
      attributes: {
        ApproximateReceiveCount: String(m.receiveCount),
        SentTimestamp: String(Date.now()),
        SenderId: 'AIDAEXAMPLE',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: 'us-east-1',
    })),
  };
}
