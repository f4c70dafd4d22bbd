/// <reference path="./.sst/platform/config.d.ts" />

// SST 4 evaluates this file in its own sandbox: no top-level imports. Stacks are
// loaded with dynamic import() inside run(), where the `sst`, `aws` and `$` globals exist.
export default $config({
  app(input) {
    const production = input?.stage === 'production';
    return {
      name: 'citepay',
      home: 'aws',
      // Production holds the ledger and settlement history: never delete it on `sst remove`.
      removal: production ? 'retain' : 'remove',
      protect: production,
      // Pinned so `sst install` is reproducible (otherwise it resolves "latest" from npm).
      // 7.20.0 and 6.15.0 are the @pulumi/aws and @pulumi/cloudflare sst 4.17.1's platform ships with.
      providers: { aws: '7.20.0', cloudflare: '6.15.0' },
    };
  },
  async run() {
    const { storage } = await import('./stacks/storage.ts');
    const { queues } = await import('./stacks/queue.ts');
    const { api } = await import('./stacks/api.ts');
    const { gpuFleet } = await import('./stacks/gpu-fleet.ts');
    const { edge } = await import('./stacks/edge.ts');

    const store = storage();
    const q = queues();
    const http = api(store, q);
    const fleet = gpuFleet(store, q);
    const edgeWorker = edge(store, http.url);

    return {
      api: http.url,
      ...(edgeWorker ? { edge: edgeWorker.url } : {}),
      bucket: store.bucket.name,
      jobQueue: q.jobs.url,
      resultQueue: q.results.url,
      gpuWorkerRepository: fleet.repositoryUrl,
      gpuCluster: fleet.clusterName,
    };
  },
});
