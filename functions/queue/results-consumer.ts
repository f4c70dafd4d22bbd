import { GenerationEventSchema } from '../../shared/generation/messages.ts';
import type { JobQueue } from '../../shared/job-queue/index.ts';
import { applyGenerationEvent } from '../../shared/services/answer-results.ts';
import type { Services } from '../../shared/services/container.ts';
import { sweepOverdueAnswers } from '../../shared/services/answers.ts';

// Long-running consumer of the results queue (local and container deployments): applies
// worker events in order, deleting each message only after its effect is committed.
// Also expires answers past their deadline, so a stuck job never holds credits forever.
export function startResultsConsumer(services: Services, results: JobQueue, options: { sweepMs?: number } = {}) {
  const abort = new AbortController();
  const { log } = services;

  const poll = async () => {
    while (!abort.signal.aborted) {
      try {
        const messages = await results.receive({ maxMessages: 10, waitSeconds: 20, signal: abort.signal });
        for (const m of messages) {
          const parsed = GenerationEventSchema.safeParse(safeJson(m.body));
          if (parsed.success) await applyGenerationEvent(services, parsed.data);
          else log.error('unreadable generation event dropped', { messageId: m.messageId });
          await results.delete(m.receiptHandle);
        }
      } catch (err) {
        if (abort.signal.aborted) break;
        log.warn('results queue poll failed; retrying', { error: String(err) });
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  };

  const sweep = setInterval(() => {
    sweepOverdueAnswers(services).catch((err) => log.warn('expiry sweep failed', { error: String(err) }));
  }, options.sweepMs ?? 5000);

  const running = poll();
  return {
    async stop() {
      abort.abort();
      clearInterval(sweep);
      await running;
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
