import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import type { JobQueue, ReceivedMessage } from './index.ts';
import { QueueUnavailableError } from './index.ts';
import { sqsSafeJson } from './sqs-text.ts';

export interface SqsOptions {
  region: string;
  /** Explicit endpoint for a local SQS-compatible server (its queue-URL host names do not resolve). */
  endpoint?: string | undefined;
  credentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
}

export function createSqsClient(options: SqsOptions): SQSClient {
  return new SQSClient({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: 2,
  });
}

/**
 * A queue that does not exist (yet): a peer's queue server that is listening before it has created
 * its queues, or one that restarted empty. Transient from the caller's side, like a refused connection.
 */
const MISSING_QUEUE = new Set(['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue']);

/** Network, throttling and missing-queue failures become QueueUnavailableError, so callers can answer 503. */
async function guarded<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name === 'AbortError') throw err;
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const code = (err as { Code?: string }).Code;
    if (
      status === undefined ||
      status >= 500 ||
      status === 429 ||
      MISSING_QUEUE.has(name ?? '') ||
      MISSING_QUEUE.has(code ?? '')
    )
      throw new QueueUnavailableError(`queue ${what} failed: ${(err as Error).message}`);
    throw err;
  }
}

export function createSqsQueue(client: SQSClient, url: string): JobQueue {
  return {
    url,
    // Messages are JSON (the port's contract): any stored text they quote travels (sqs-text.ts).
    send: (body) =>
      guarded(
        'send',
        async () => void (await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: sqsSafeJson(body) }))),
      ),
    async sendBatch(bodies) {
      for (let i = 0; i < bodies.length; i += 10) {
        const entries = bodies.slice(i, i + 10).map((body, j) => ({ Id: String(j), MessageBody: sqsSafeJson(body) }));
        const r = await guarded('send', () =>
          client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries })),
        );
        if (r.Failed?.length) throw new QueueUnavailableError(`queue send failed for ${r.Failed.length} messages`);
      }
    },
    async receive({ maxMessages, waitSeconds, visibilitySeconds, signal }) {
      const r = await guarded('receive', () =>
        client.send(
          new ReceiveMessageCommand({
            QueueUrl: url,
            MaxNumberOfMessages: Math.min(10, maxMessages),
            WaitTimeSeconds: waitSeconds,
            ...(visibilitySeconds ? { VisibilityTimeout: visibilitySeconds } : {}),
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          }),
          { abortSignal: signal },
        ),
      );
      return (r.Messages ?? []).map(
        (m): ReceivedMessage => ({
          messageId: m.MessageId!,
          receiptHandle: m.ReceiptHandle!,
          body: m.Body ?? '',
          receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 1),
        }),
      );
    },
    delete: (receiptHandle) =>
      guarded(
        'delete',
        async () => void (await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: receiptHandle }))),
      ),
    extendVisibility: (receiptHandle, seconds) =>
      guarded(
        'visibility',
        async () =>
          void (await client.send(
            new ChangeMessageVisibilityCommand({
              QueueUrl: url,
              ReceiptHandle: receiptHandle,
              VisibilityTimeout: seconds,
            }),
          )),
      ),
    async depth() {
      const r = await guarded('attributes', () =>
        client.send(
          new GetQueueAttributesCommand({
            QueueUrl: url,
            AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
          }),
        ),
      );
      return {
        visible: Number(r.Attributes?.ApproximateNumberOfMessages ?? 0),
        inFlight: Number(r.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
      };
    },
  };
}

/** Local runs and tests: create the job queue with its dead-letter queue, and the results queue. */
export async function ensureQueues(
  client: SQSClient,
  names: { jobs: string; results: string },
  opts: { visibilitySeconds: number; maxReceives: number },
) {
  const dlq = await client.send(new CreateQueueCommand({ QueueName: `${names.jobs}-dlq` }));
  const dlqArn = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl!, AttributeNames: ['QueueArn'] }),
  );
  const jobs = await client.send(
    new CreateQueueCommand({
      QueueName: names.jobs,
      Attributes: {
        VisibilityTimeout: String(opts.visibilitySeconds),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqArn.Attributes!.QueueArn,
          maxReceiveCount: String(opts.maxReceives),
        }),
      },
    }),
  );
  const results = await client.send(new CreateQueueCommand({ QueueName: names.results }));
  return { jobsUrl: jobs.QueueUrl!, deadLetterUrl: dlq.QueueUrl!, resultsUrl: results.QueueUrl! };
}
