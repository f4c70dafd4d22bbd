import { describe, expect, it } from 'vitest';
import { WorkerConfigError, loadWorkerConfig } from './config.ts';

const QUEUES = {
  JOB_QUEUE_URL: 'http://localhost:4566/000000000000/jobs',
  RESULT_QUEUE_URL: 'http://localhost:4566/000000000000/results',
};

describe('worker config', () => {
  it('fills in defaults: filesystem store under the data dir, no engine, AWS credentials from the SDK chain', () => {
    const c = loadWorkerConfig({ ...QUEUES, CITEPAY_DATA_DIR: '/var/citepay' });
    expect(c).toMatchObject({
      objectStore: { kind: 'fs', root: '/var/citepay/objects' },
      engineUrl: undefined,
      adapterCache: { dir: '/var/citepay/adapter-cache', maxBytes: 2 * 1024 ** 3 },
      concurrency: 2,
      visibilitySeconds: 60,
      heartbeatSeconds: 20,
      metricsIntervalSeconds: 60,
      queue: { region: 'us-east-1', endpoint: undefined, credentials: undefined },
    });
    expect(c.workerId).toMatch(/-\d+$/);
    // npm start passes its object store folder, which may be another process's (shared database)
    expect(
      loadWorkerConfig({ ...QUEUES, CITEPAY_DATA_DIR: '/var/citepay', OBJECT_STORE_DIR: '/srv/objects' }).objectStore,
    ).toEqual({ kind: 'fs', root: '/srv/objects' });
  });

  it('uses local credentials only with an explicit endpoint, and trims the engine URL', () => {
    const c = loadWorkerConfig({
      ...QUEUES,
      SQS_ENDPOINT: 'http://127.0.0.1:4566',
      OBJECT_STORE: 's3',
      S3_BUCKET: 'b',
      S3_ENDPOINT: 'http://127.0.0.1:4566',
      GENERATOR_ENGINE_URL: 'http://127.0.0.1:8000/',
      WORKER_CONCURRENCY: '4',
      WORKER_ID: 'gpu-1',
    });
    expect(c.queue.credentials).toEqual({ accessKeyId: 'local', secretAccessKey: 'local' });
    expect(c.objectStore).toMatchObject({ kind: 's3', bucket: 'b', credentials: { accessKeyId: 'local' } });
    expect(c).toMatchObject({ engineUrl: 'http://127.0.0.1:8000', concurrency: 4, workerId: 'gpu-1' });
  });

  it('fails fast, naming the variable', () => {
    expect(() => loadWorkerConfig({ RESULT_QUEUE_URL: QUEUES.RESULT_QUEUE_URL })).toThrow(/JOB_QUEUE_URL/);
    expect(() => loadWorkerConfig({ ...QUEUES, WORKER_CONCURRENCY: '0' })).toThrow(/WORKER_CONCURRENCY/);
    const err = (() => {
      try {
        loadWorkerConfig({ ...QUEUES, VISIBILITY_TIMEOUT_SECONDS: '30', HEARTBEAT_SECONDS: '30' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(WorkerConfigError);
    expect((err as Error).message).toMatch(/HEARTBEAT_SECONDS: must be less than VISIBILITY_TIMEOUT_SECONDS/);
  });
});
