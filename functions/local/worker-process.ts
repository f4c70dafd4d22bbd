import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../shared/config.ts';
import type { Logger } from '../../shared/logger.ts';

// Local runs: the GPU worker as its own process, as in the cloud, reaching the API only
// through the queues and the object store. Restarted if it dies; stopped with SIGTERM.
const WORKER_ENTRY = fileURLToPath(new URL('../../gpu-worker/main.ts', import.meta.url));

export function workerEnv(config: Config, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const store = config.objectStore;
  return {
    ...base,
    JOB_QUEUE_URL: config.queue.jobsUrl,
    RESULT_QUEUE_URL: config.queue.resultsUrl,
    ...(config.queue.endpoint ? { SQS_ENDPOINT: config.queue.endpoint } : {}),
    CITEPAY_DATA_DIR: config.dataDir,
    LOG_LEVEL: config.logLevel,
    OBJECT_STORE: store.kind,
    ...(store.kind === 'fs' ? { OBJECT_STORE_DIR: store.root } : {}),
    ...(store.kind === 's3'
      ? { S3_BUCKET: store.bucket, ...(store.endpoint ? { S3_ENDPOINT: store.endpoint } : {}) }
      : {}),
  };
}

export function superviseWorker(config: Config, log: Logger) {
  let child: ChildProcess | undefined;
  let stopping = false;
  let replacing = false;
  let restarts = 0;
  let relaunch: NodeJS.Timeout | undefined;
  const gone = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;

  const launch = () => {
    // The IPC channel carries no messages: it closes when this process dies however it dies (even
    // SIGKILL), and the worker exits on that instead of running on, orphaned (gpu-worker/main.ts).
    child = spawn(process.execPath, ['--import', 'tsx', WORKER_ENTRY], {
      env: workerEnv(config),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.on('exit', (code, signal) => {
      if (stopping || replacing) return;
      restarts++;
      const delay = Math.min(30_000, 500 * 2 ** Math.min(restarts, 6));
      log.warn('gpu-worker exited; restarting', { code, signal, inMs: delay });
      relaunch = setTimeout(launch, delay).unref();
    });
  };
  launch();

  return {
    pid: () => child?.pid,
    /** Another queue server or store (a joiner following its peer): the worker is stopped and started on it. */
    async reconfigure(next: Config) {
      if (stopping) return;
      config = next;
      clearTimeout(relaunch); // a crashed worker waiting to restart restarts now, on the new services
      replacing = true;
      try {
        if (child && !gone(child)) {
          const exited = new Promise((resolve) => child!.once('exit', resolve));
          child.kill('SIGTERM');
          await exited;
        }
      } finally {
        replacing = false;
      }
      if (!stopping) launch();
    },
    async stop() {
      stopping = true;
      clearTimeout(relaunch);
      if (!child || gone(child)) return; // exited, or killed by a signal (exitCode stays null then)
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
