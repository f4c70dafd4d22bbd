import type { Config } from '../config.ts';
import type { Db } from '../db/index.ts';
import type { Embedder } from '../embedder/index.ts';
import type { ObjectStore } from '../object-store/index.ts';
import type { VectorIndex } from '../vector-index/index.ts';
import type { Logger } from '../logger.ts';
import type { JobQueue } from '../job-queue/index.ts';
import type { AnswerHub } from './answer-hub.ts';
import type { SettlementChain } from '../chain/distributor.ts';
import type { EmbedderRegistry } from './embedders.ts';
import type { Metrics } from './metrics.ts';
import type { DocumentReaders } from '../document-readers/index.ts';

// The ports one process works with, built once by its composition root.
export interface Services {
  config: Config;
  db: Db;
  /** the default embedding model (new datanets, support checks) */
  embedder: Embedder;
  /** every embedding model this process can use, by id (each datanet records its own) */
  embedders: EmbedderRegistry;
  objectStore: ObjectStore;
  vectorIndex: VectorIndex;
  log: Logger;
  /** Generation jobs for the GPU worker fleet; absent when this process cannot answer. */
  jobQueue: JobQueue | undefined;
  answerHub: AnswerHub;
  /** The L2 distributor; absent when no chain is configured (settlement and claims then refuse). */
  chain: SettlementChain | undefined;
  /** Prometheus metrics of this container (GET /metrics); absent at the edge */
  metrics: Metrics | undefined;
  /** PDF and DOCX text extraction; absent at the edge, which ingests nothing (the libraries stay out of its bundle). */
  documentReaders?: DocumentReaders | undefined;
}
