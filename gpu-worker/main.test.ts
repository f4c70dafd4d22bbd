import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { FAKE_BASE_MODEL, startFakeEngine, type FakeEngine } from '../test/fake-engine.ts';
import { TEST_BUCKET } from '../test/global-setup.ts';
import { collectEvents, count, drained, makeJob, readResult, s3Store, testQueues } from '../test/worker-kit.ts';

// `tsx gpu-worker/main.ts` as it runs in its container: a real process configured by
// env, reaching the queues and the store on fauxqs and a FAKE engine over HTTP.
const children: ChildProcess[] = [];
const engines: FakeEngine[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  for (const e of engines.splice(0)) await e.stop();
});

function startWorker(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'gpu-worker/main.ts'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', () => output.includes('"msg":"gpu-worker ready"') && resolve());
    void exited.then((code) => reject(new Error(`worker exited with ${code}:\n${output}`)));
  });
  return { child, ready, exited, output: () => output };
}

describe('gpu-worker process', () => {
  it('starts from env, serves extractive and adapter jobs, and exits 0 on SIGTERM', async () => {
    const queues = await testQueues('main');
    const engine = await startFakeEngine();
    engines.push(engine);
    const store = s3Store();
    const bytes = randomBytes(512);
    const adapter = {
      id: `ad_${randomBytes(6).toString('hex')}`,
      baseModel: FAKE_BASE_MODEL,
      objectKey: `adapters/main/${randomBytes(6).toString('hex')}`,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
    await store.put(adapter.objectKey, bytes, 'application/octet-stream');
    const dataDir = mkdtempSync(join(tmpdir(), 'citepay-worker-'));
    const worker = startWorker({
      JOB_QUEUE_URL: queues.urls.jobsUrl,
      RESULT_QUEUE_URL: queues.urls.resultsUrl,
      SQS_ENDPOINT: inject('awsEndpoint'),
      OBJECT_STORE: 's3',
      S3_BUCKET: TEST_BUCKET,
      S3_ENDPOINT: inject('awsEndpoint'),
      CITEPAY_DATA_DIR: dataDir,
      GENERATOR_ENGINE_URL: engine.url,
      WORKER_ID: 'worker-main-test',
      LOG_LEVEL: 'info',
    });
    await worker.ready;

    const extractive = makeJob();
    const tuned = makeJob({ model: FAKE_BASE_MODEL, adapter, logprobs: true });
    await queues.jobs.sendBatch([JSON.stringify(extractive), JSON.stringify(tuned)]);
    const events = await collectEvents(queues.results, (e) => count(e, 'completed') === 2);
    expect(events.filter((e) => e.type === 'started').map((e) => e.workerId)).toEqual([
      'worker-main-test',
      'worker-main-test',
    ]);
    expect((await readResult(store, extractive.jobId))!.model).toBe('extractive');
    expect((await readResult(store, tuned.jobId))!.model).toBe(adapter.id);
    expect(engine.requests['/v1/load_lora_adapter'][0].lora_path).toBe(join(dataDir, 'adapter-cache', adapter.id));
    expect(await drained(queues.jobs)).toBe(true);

    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(worker.output()).toContain('"msg":"gpu-worker stopped"');
  });

  it('refuses to start with a bad environment, naming the variable', async () => {
    const worker = startWorker({ JOB_QUEUE_URL: 'not a url', RESULT_QUEUE_URL: 'http://127.0.0.1:1/q' });
    await expect(worker.ready).rejects.toThrow(/exited with 1[\s\S]*JOB_QUEUE_URL/);
  });
});
