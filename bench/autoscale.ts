// npm run bench:autoscale — the GPU fleet's scaling policy (shared/core/gpu-scaling.ts, deployed by
// stacks/gpu-fleet.ts) replayed through a seeded week of bursty days (bench/lib/traffic.ts) in a
// discrete-event model of ECS on EC2 (bench/lib/fleet-sim.ts), against the same policy without
// scale-to-zero, a fixed fleet sized for the peak, and a few parameter variants.
// AUTOSCALE_DAYS (default 7) seeded days per scenario; figures are pooled over them.
import { GPU_SCALING, MEAN_JOB_S, WORKER_CONCURRENCY, type GpuScalingPolicy } from '../shared/core/gpu-scaling.ts';
import { simulate, type Fleet, type FleetModel, type SimResult } from './lib/fleet-sim.ts';
import { percentile, printTable, saveResults } from './lib/stats.ts';
import { DAY_S, generateDay, type TrafficShape } from './lib/traffic.ts';

const DAYS = Number(process.env.AUTOSCALE_DAYS ?? 7);
const G5_XLARGE_USD_PER_HOUR = 1.006; // us-east-1 on-demand

const BUSY: TrafficShape = {
  troughPerS: 0.002, // ~7 jobs an hour at 03:00 UTC
  peakPerS: 1.2, // ~4,300 an hour at 15:00
  burstsPerDay: 12,
  burstMinutes: [2, 15],
  burstPerS: [0.3, 1.2],
  // a task finishes one job every MEAN_JOB_S on average, running WORKER_CONCURRENCY at once
  meanServiceS: MEAN_JOB_S * WORKER_CONCURRENCY,
  serviceSigma: 0.6,
};
// An early product: a tenth of the day's traffic, nights all but empty, bursts as large.
const QUIET: TrafficShape = { ...BUSY, troughPerS: 0.0002, peakPerS: 0.12, burstsPerDay: 4 };
const PROFILES = { busy: BUSY, quiet: QUIET };

const MODEL: FleetModel = {
  capacityProviderDelayS: 60,
  instanceBootS: [90, 180],
  modelLoadS: [60, 120], // vLLM: Llama-3.1-8B weights and CUDA graphs
  emptyInstanceLingerS: 900,
  metricDelayS: 60,
  concurrency: WORKER_CONCURRENCY,
  deadlineS: 120, // ANSWER_DEADLINE_SECONDS default
  syncWaitS: 30, // ANSWER_WAIT_SECONDS default
};

const VARIANTS: Partial<GpuScalingPolicy>[] = [
  { backlog: 'visible', backlogPerTaskTarget: 10, minTasks: 0 }, // the first stack: AWS's SQS recipe
  { backlog: 'visible', backlogPerTaskTarget: 10, minTasks: 1 },
  ...[1, 1.5, 2, 3].map((backlogPerTaskTarget) => ({
    backlog: 'visible+inFlight' as const,
    backlogPerTaskTarget,
    minTasks: 1,
  })),
  ...[1, 1.5].map((backlogPerTaskTarget) => ({
    backlog: 'visible+inFlight' as const,
    backlogPerTaskTarget,
    minTasks: 0,
  })),
  { backlog: 'visible+inFlight', backlogPerTaskTarget: 1, minTasks: 1, scaleInCooldownS: 900 },
];
const describe = (p: GpuScalingPolicy) =>
  `${p.backlog === 'visible' ? 'visible' : '(visible + in flight)'} ÷ running → ${p.backlogPerTaskTarget}, min ${p.minTasks}` +
  (p.scaleInCooldownS === GPU_SCALING.scaleInCooldownS ? '' : `, scale-in cooldown ${p.scaleInCooldownS} s`);
const SCENARIOS: { name: string; fleet: Fleet }[] = [
  { name: `default: ${describe(GPU_SCALING)}`, fleet: { kind: 'autoscale', policy: GPU_SCALING } },
  { name: `fixed ${GPU_SCALING.maxTasks} tasks (peak)`, fleet: { kind: 'fixed', tasks: GPU_SCALING.maxTasks } },
  ...VARIANTS.map((v) => {
    const policy = { ...GPU_SCALING, ...v };
    return { name: describe(policy), fleet: { kind: 'autoscale' as const, policy } };
  }),
];

const started = performance.now();
const profiles = Object.entries(PROFILES).map(([profile, shape]) => {
  const days = Array.from({ length: DAYS }, (_, d) => generateDay(shape, 1000 + d));
  const totalJobs = days.reduce((n, d) => n + d.jobs.length, 0);
  const scenarios = SCENARIOS.map(({ name, fleet }) => {
    const runs: SimResult[] = days.map((d, i) => simulate(d.jobs, fleet, MODEL, 7000 + i, DAY_S));
    const waits = runs.flatMap((r) => [...r.waits]).sort((a, b) => a - b);
    const sum = (f: (r: SimResult) => number) => runs.reduce((s, r) => s + f(r), 0);
    const pastDeadline = sum((r) => r.pastDeadline);
    const gpuHoursPerDay = sum((r) => r.instanceSeconds) / 3600 / DAYS;
    return {
      name,
      fleet,
      waitS: {
        p50: percentile(waits, 50),
        p95: percentile(waits, 95),
        p99: percentile(waits, 99),
        max: waits.at(-1) ?? NaN,
      },
      pastDeadline: { perDay: pastDeadline / DAYS, share: pastDeadline / totalJobs },
      pastSyncWaitShare: sum((r) => r.pastSyncWait) / totalJobs,
      gpuHoursPerDay,
      usdPerDay: gpuHoursPerDay * G5_XLARGE_USD_PER_HOUR,
      maxTasks: Math.max(...runs.map((r) => r.maxTasks)),
      scalingActionsPerDay: {
        wake: sum((r) => r.actions.wake) / DAYS,
        scaleOut: sum((r) => r.actions['scale-out']) / DAYS,
        scaleIn: sum((r) => r.actions['scale-in']) / DAYS,
      },
      // the first day per hour; minute by minute (end s, desired, running, visible) for the default only
      firstDay: {
        hourly: runs[0]!.hourly,
        timeline: fleet.kind === 'autoscale' && fleet.policy === GPU_SCALING ? runs[0]!.timeline : undefined,
      },
    };
  });
  printTable(
    `${profile} traffic, ${DAYS} seeded days (${Math.round(totalJobs / DAYS).toLocaleString('en')} jobs/day, ${days.reduce((n, d) => n + d.bursts.length, 0)} bursts); wait = enqueue → a worker takes the job; deadline ${MODEL.deadlineS} s`,
    scenarios.map((r) => ({
      scenario: r.name,
      'wait p50 s': r.waitS.p50,
      'p95 s': r.waitS.p95,
      'p99 s': r.waitS.p99,
      'past deadline /day': r.pastDeadline.perDay,
      'past deadline %': r.pastDeadline.share * 100,
      'over 30 s %': r.pastSyncWaitShare * 100,
      'GPU-h/day': r.gpuHoursPerDay,
      'USD/day': r.usdPerDay,
      'max tasks': r.maxTasks,
    })),
  );
  return { profile, traffic: shape, jobsPerDay: totalJobs / DAYS, bursts: days.map((d) => d.bursts), scenarios };
});
const seconds = (performance.now() - started) / 1000;
console.log(`\n${seconds.toFixed(1)} s`);

const file = saveResults('autoscale', {
  date: new Date().toISOString(),
  days: DAYS,
  model: MODEL,
  usdPerGpuHour: G5_XLARGE_USD_PER_HOUR,
  defaultPolicy: GPU_SCALING,
  profiles,
  seconds,
});
console.log(`saved ${file}`);
