// Throughput figures for autoscaling (target backlog per worker = acceptable wait ÷ mean
// job time), published as CloudWatch Embedded Metric Format log lines: CloudWatch Logs
// turns them into metrics with no agent and no PutMetricData calls.
export interface WorkerMetrics {
  /** Jobs generated and stored since start (replays and failures excluded). */
  jobsCompleted: number;
  /** Over the current window (since the last published line). */
  jobsPerSecond: number;
  /** Receipt to delete, over the current window; the last known value when it had no jobs. */
  meanJobSeconds: number;
  inFlight: number;
}

export function createMetrics(now: () => number) {
  let jobsCompleted = 0;
  let inFlight = 0;
  let windowStart = now();
  let windowJobs = 0;
  let windowSeconds = 0;
  let lastMean = 0;

  const snapshot = (): WorkerMetrics => {
    const elapsed = (now() - windowStart) / 1000;
    return {
      jobsCompleted,
      jobsPerSecond: elapsed > 0 ? windowJobs / elapsed : 0,
      meanJobSeconds: windowJobs > 0 ? windowSeconds / windowJobs : lastMean,
      inFlight,
    };
  };

  return {
    snapshot,
    jobStarted: () => void inFlight++,
    /** `seconds` only for a job that was generated: the others say nothing about job time. */
    jobFinished(seconds: number | null) {
      inFlight--;
      if (seconds === null) return;
      jobsCompleted++;
      windowJobs++;
      windowSeconds += seconds;
    },
    /** Closes the window: its figures, and a fresh window from now. */
    roll(): WorkerMetrics {
      const m = snapshot();
      lastMean = m.meanJobSeconds;
      windowStart = now();
      windowJobs = 0;
      windowSeconds = 0;
      return m;
    },
  };
}

export function embeddedMetricFormat(m: WorkerMetrics, workerId: string, timestamp: number) {
  return {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: 'citepay/gpu-worker',
          Dimensions: [['WorkerId']],
          Metrics: [
            { Name: 'JobsPerSecond', Unit: 'Count/Second' },
            { Name: 'MeanJobSeconds', Unit: 'Seconds' },
            { Name: 'InFlight', Unit: 'Count' },
          ],
        },
      ],
    },
    WorkerId: workerId,
    JobsPerSecond: m.jobsPerSecond,
    MeanJobSeconds: m.meanJobSeconds,
    InFlight: m.inFlight,
  };
}
