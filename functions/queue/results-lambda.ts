import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { loadConfig } from '../../shared/config.ts';
import { GenerationEventSchema } from '../../shared/generation/messages.ts';
import { applyGenerationEvent } from '../../shared/services/answer-results.ts';
import type { Services } from '../../shared/services/container.ts';
import { createServices } from '../../shared/services/create.ts';

// AWS Lambda subscribed to the results queue: the cloud twin of results-consumer.ts.
// Failed records are reported back so SQS retries only those (partial batch response).
let services: Promise<Services> | undefined;

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  services ??= createServices(loadConfig());
  services.catch(() => (services = undefined)); // a failed start is tried again by the next batch
  const s = await services;
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    try {
      const parsed = GenerationEventSchema.safeParse(JSON.parse(record.body));
      if (parsed.success) await applyGenerationEvent(s, parsed.data);
      else s.log.error('unreadable generation event dropped', { messageId: record.messageId });
    } catch (err) {
      s.log.error('generation event failed; SQS will retry it', { messageId: record.messageId, error: String(err) });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}
