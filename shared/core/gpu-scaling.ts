// The GPU fleet's scaling policy as plain data, and one pure step that decides the new desired
// task count the way AWS Application Auto Scaling would. stacks/gpu-fleet.ts hands these numbers
// to AWS and `npm run bench:autoscale` replays a day of traffic through `decideScaling`, so the
// deployed policy and the simulated one cannot disagree.

export interface GpuScalingPolicy {
  /** 0 lets the fleet scale to zero (the wake alarm brings it back); 1 keeps one GPU warm. */
  minTasks: number;
  /** One task per g5 instance (1 GPU each), so also the Auto Scaling group's max. */
  maxTasks: number;
  /**
   * What target tracking divides by the running tasks: the jobs waiting in the queue (`visible`,
   * AWS's SQS recipe), or those plus the jobs being worked on (`visible+inFlight`).
   */
  backlog: 'visible' | 'visible+inFlight';
  /** Target tracking's target for backlog ÷ running tasks. */
  backlogPerTaskTarget: number;
  scaleOutCooldownS: number;
  scaleInCooldownS: number;
  /** Cooldown of the wake-from-zero step policy (+1 task). */
  wakeCooldownS: number;
}

/** CloudWatch period of every metric and alarm here; alarms are evaluated once per period. */
export const METRIC_PERIOD_S = 60;
// The alarms Application Auto Scaling creates for a target tracking policy (not configurable):
// scale out after 3 consecutive datapoints above the target, scale in after 15 below 90 % of it.
export const HIGH_ALARM_DATAPOINTS = 3;
export const LOW_ALARM_DATAPOINTS = 15;
export const LOW_ALARM_FACTOR = 0.9;

/** Jobs one gpu-worker runs at once (its WORKER_CONCURRENCY, which the stack sets from here). */
export const WORKER_CONCURRENCY = 2;
/** A task finishes one job every ~3 s on average (~6 s each, two at a time). */
export const MEAN_JOB_S = 3;

/**
 * The deployed policy, chosen with `npm run bench:autoscale` (README, Benchmarks; 44k jobs/day):
 * - Backlog counts the jobs in flight. AWS's SQS recipe (visible ÷ running → 10) reads ~0 whenever
 *   the fleet keeps up, so after 15 quiet minutes it scales in to the minimum at the daily peak,
 *   the queue explodes, and it scales back out: 37.6 % of jobs past their deadline.
 * - Target 1 job per task (half of WORKER_CONCURRENCY): p95 wait 36 s and 3.3 % past the deadline
 *   (bursts outrunning a 4–6 min cold start) for 124 GPU-h/day; 1.5 saves 10 GPU-h but p95 is 92 s.
 *   A fixed peak fleet (8) misses nothing and costs 192 GPU-h/day.
 * - Min 1, not 0: scaling to zero saved 0.2 GPU-h/day on the busy day (2.4 on a quiet one, $2.4) and
 *   made every job arriving then miss its deadline (+100 and +260 a day). The wake alarm stays in
 *   the stack, so min 0 is one number away.
 * - Cooldowns 60 / 300 s: 900 s of scale-in cooldown changed nothing measurable.
 */
export const GPU_SCALING: GpuScalingPolicy = {
  minTasks: 1,
  maxTasks: 8,
  backlog: 'visible+inFlight',
  backlogPerTaskTarget: 1,
  scaleOutCooldownS: 60,
  scaleInCooldownS: 300, // GPU instances take minutes to come back: don't flap
  wakeCooldownS: 120,
};

/** One period's Averages: SQS ApproximateNumberOfMessagesVisible / …NotVisible, ECS RunningTaskCount. */
export interface PeriodMetrics {
  visible: number;
  inFlight: number;
  running: number;
}

/** The tracked metric for one period; null with no running task (the division has no data). */
export function backlogPerTask(policy: GpuScalingPolicy, p: PeriodMetrics): number | null {
  if (!(p.running > 0)) return null;
  return (p.visible + (policy.backlog === 'visible+inFlight' ? p.inFlight : 0)) / p.running;
}

/** What the policy sees at one evaluation (the end of a metric period). */
export interface ScalingObservation {
  /** The datapoints published so far, oldest first; only the last LOW_ALARM_DATAPOINTS matter. */
  periods: readonly PeriodMetrics[];
  /** Wake alarm: the newest period's Maximum of ApproximateNumberOfMessagesVisible. */
  visibleMax: number;
  /** Wake alarm: the newest period's Maximum of DesiredTaskCount (null = no data, read as 0). */
  desiredMax: number | null;
  /** The scalable target's capacity now (the service's DesiredCount), which policies change. */
  capacity: number;
  secondsSinceScaleOut: number;
  secondsSinceScaleIn: number;
  secondsSinceWake: number;
}

export type ScalingAction = 'wake' | 'scale-out' | 'scale-in' | 'hold';

export interface ScalingDecision {
  desired: number;
  action: ScalingAction;
}

/** The last `n` datapoints if there are `n` of them and none is missing (else the alarm has insufficient data). */
function lastComplete(points: readonly (number | null)[], n: number): number[] | null {
  if (points.length < n) return null;
  const tail = points.slice(points.length - n);
  return tail.every((p): p is number => p !== null) ? tail : null;
}

/**
 * One evaluation of both policies on the scalable target:
 * - target tracking: `ceil(capacity × backlog / target)` when its high alarm (3 datapoints above the
 *   target) or low alarm (15 below 90 % of it) is in ALARM, a scale-out no sooner than the scale-out
 *   cooldown after the last one, a scale-in no sooner than the scale-in cooldown after the last
 *   scale-in and never while a scale-out is called for; missing data (no running task) does nothing;
 * - wake from zero: +1 task when jobs are visible while the desired count is 0, once per wake cooldown.
 * When both would scale out, the larger capacity wins (as AWS does). Always within [min, max].
 */
export function decideScaling(policy: GpuScalingPolicy, o: ScalingObservation): ScalingDecision {
  const clamp = (n: number) => Math.min(policy.maxTasks, Math.max(policy.minTasks, n));
  const capacity = clamp(o.capacity);
  const candidates: ScalingDecision[] = [];

  if (o.visibleMax > 0 && (o.desiredMax ?? 0) === 0 && o.secondsSinceWake >= policy.wakeCooldownS) {
    candidates.push({ desired: clamp(capacity + 1), action: 'wake' });
  }

  const points = o.periods.slice(-LOW_ALARM_DATAPOINTS).map((p) => backlogPerTask(policy, p));
  const high = lastComplete(points, HIGH_ALARM_DATAPOINTS);
  const latest = high?.at(-1);
  if (
    high &&
    latest !== undefined &&
    high.every((p) => p > policy.backlogPerTaskTarget) &&
    o.secondsSinceScaleOut >= policy.scaleOutCooldownS
  ) {
    candidates.push({
      desired: clamp(Math.ceil((capacity * latest) / policy.backlogPerTaskTarget)),
      action: 'scale-out',
    });
  }
  const out = candidates.filter((c) => c.desired > capacity).sort((a, b) => b.desired - a.desired)[0];
  if (out) return out;

  const low = lastComplete(points, LOW_ALARM_DATAPOINTS);
  const lowLatest = low?.at(-1);
  if (
    low &&
    lowLatest !== undefined &&
    low.every((p) => p < LOW_ALARM_FACTOR * policy.backlogPerTaskTarget) &&
    o.secondsSinceScaleIn >= policy.scaleInCooldownS
  ) {
    const desired = clamp(Math.ceil((capacity * lowLatest) / policy.backlogPerTaskTarget));
    if (desired < capacity) return { desired, action: 'scale-in' };
  }
  return { desired: capacity, action: 'hold' };
}
