// JobQueue port: at-least-once delivery with visibility timeouts, as SQS gives.
// A consumer deletes a message only after its work is durably done.
export interface ReceivedMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  /** 1 on first delivery; grows with each redelivery. */
  receiveCount: number;
}

export interface ReceiveOptions {
  maxMessages: number;
  waitSeconds: number;
  visibilitySeconds?: number;
  signal?: AbortSignal;
}

export interface QueueDepth {
  visible: number;
  inFlight: number;
}

export interface JobQueue {
  readonly url: string;
  /** `body` is JSON text: adapters may re-escape it (to the same JSON value) to carry any string. */
  send(body: string): Promise<void>;
  sendBatch(bodies: readonly string[]): Promise<void>;
  receive(options: ReceiveOptions): Promise<ReceivedMessage[]>;
  delete(receiptHandle: string): Promise<void>;
  extendVisibility(receiptHandle: string, seconds: number): Promise<void>;
  depth(): Promise<QueueDepth>;
}

export class QueueUnavailableError extends Error {}
