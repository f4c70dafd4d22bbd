// Discrete-event simulation of the GPU fleet (stacks/gpu-fleet.ts) for bench:autoscale: jobs wait in
// the queue, running tasks take up to WORKER_CONCURRENCY at once, and every metric period the
// CloudWatch datapoints (after their publication delay) go through decideScaling, the same pure
// step whose numbers the stack deploys. A new task needs an instance (the capacity provider's
// reaction, then boot), then loads the model; scale-in stops tasks still starting first, then idle
// ones, then lets busy ones finish their jobs; an empty instance lingers until managed scaling
// terminates it, and is reused by a task placed meanwhile. GPU-hours are instance-hours.
import {
  decideScaling,
  METRIC_PERIOD_S,
  type GpuScalingPolicy,
  type ScalingAction,
} from '../../shared/core/gpu-scaling.ts';
import { mulberry32, uniform, type Job, type Random } from './traffic.ts';

export interface FleetModel {
  /** The ECS capacity provider seeing a PROVISIONING task and asking the Auto Scaling group for an instance. */
  capacityProviderDelayS: number;
  /** EC2 launch to the ECS agent registered (g5, GPU AMI). */
  instanceBootS: [number, number];
  /** Task placed to the worker taking jobs: image start, vLLM loading the base model, health check. */
  modelLoadS: [number, number];
  /** Managed scaling terminates an empty instance only after its own scale-in alarm. */
  emptyInstanceLingerS: number;
  /** When a period's datapoint reaches the alarms, after the period ends. */
  metricDelayS: number;
  /** Jobs one task runs at once (WORKER_CONCURRENCY). */
  concurrency: number;
  /** ANSWER_DEADLINE_SECONDS: an answer not finished by then expires uncharged. */
  deadlineS: number;
  /** ANSWER_WAIT_SECONDS: a synchronous caller gets a pending answer instead after this long. */
  syncWaitS: number;
}

export type Fleet = { kind: 'autoscale'; policy: GpuScalingPolicy } | { kind: 'fixed'; tasks: number };

export interface SimResult {
  jobs: number;
  /** seconds from enqueue to a worker taking the job, in arrival order */
  waits: Float64Array;
  pastDeadline: number;
  pastSyncWait: number;
  instanceSeconds: number;
  maxTasks: number;
  actions: Record<ScalingAction, number>;
  /** per hour of the day: jobs arrived, mean tasks taking work, jobs past their deadline */
  hourly: { jobs: number; meanRunning: number; pastDeadline: number }[];
  /** per metric period: its end (s), the desired count after evaluating it, tasks taking work, mean jobs visible */
  timeline: [end: number, desired: number, running: number, visible: number][];
}

type TaskState = 'provisioning' | 'loading' | 'running' | 'draining';
interface Instance {
  launchAt: number;
  readyAt: number;
  task: Task | null;
  emptySince: number;
  terminatedAt: number | null;
}
interface Task {
  state: TaskState;
  busy: number;
  instance: Instance;
  created: number;
}
type Event =
  | { kind: 'tick' }
  | { kind: 'done'; task: Task; job: Job }
  | { kind: 'instanceReady'; instance: Instance }
  | { kind: 'taskReady'; task: Task }
  | { kind: 'emptyCheck'; instance: Instance; since: number };

/** Binary min-heap on (time, insertion order). */
class EventQueue {
  private heap: { t: number; seq: number; e: Event }[] = [];
  private seq = 0;
  get size() {
    return this.heap.length;
  }
  push(t: number, e: Event) {
    const h = this.heap;
    h.push({ t, seq: this.seq++, e });
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  peekTime(): number {
    return this.heap[0]?.t ?? Infinity;
  }
  pop(): { t: number; e: Event } {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1,
          r = l + 1;
        let m = i;
        if (l < h.length && this.less(l, m)) m = l;
        if (r < h.length && this.less(r, m)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
  private less(a: number, b: number) {
    const x = this.heap[a]!,
      y = this.heap[b]!;
    return x.t < y.t || (x.t === y.t && x.seq < y.seq);
  }
}

interface Datapoint {
  end: number;
  visible: number;
  inFlight: number;
  running: number;
  visibleMax: number;
  desiredMax: number;
}

/** Replays `jobs` (sorted by arrival, within one day) through a fleet; `seed` draws boot and load times. */
export function simulate(jobs: readonly Job[], fleet: Fleet, model: FleetModel, seed: number, dayS: number): SimResult {
  const rnd: Random = mulberry32(seed);
  const events = new EventQueue();
  const instances: Instance[] = [];
  let tasks: Task[] = [];
  const queue: number[] = []; // indices into jobs, FIFO
  let queueHead = 0;
  const waits = new Float64Array(jobs.length);
  let pastDeadline = 0,
    pastSyncWait = 0,
    maxTasks = 0;
  const actions: Record<ScalingAction, number> = { wake: 0, 'scale-out': 0, 'scale-in': 0, hold: 0 };
  const hourly = Array.from({ length: 24 }, () => ({ jobs: 0, meanRunning: 0, pastDeadline: 0 }));

  let desired = fleet.kind === 'fixed' ? fleet.tasks : fleet.policy.minTasks;
  let lastScaleOut = -Infinity,
    lastScaleIn = -Infinity,
    lastWake = -Infinity;

  // metric accumulators for the current period
  let lastT = 0,
    visibleArea = 0,
    inFlightArea = 0,
    runningArea = 0,
    visibleMax = 0,
    desiredMax = desired;
  const datapoints: Datapoint[] = [];
  const timeline: SimResult['timeline'] = [];
  const visible = () => queue.length - queueHead;
  let inFlight = 0;
  const runningCount = () => tasks.reduce((n, t) => n + (t.state === 'running' || t.state === 'draining' ? 1 : 0), 0);
  const advance = (now: number) => {
    const dt = now - lastT;
    if (dt > 0) {
      const running = runningCount();
      visibleArea += visible() * dt;
      inFlightArea += inFlight * dt;
      runningArea += running * dt;
      const hour = Math.floor(lastT / 3600);
      if (hour < 24) hourly[hour]!.meanRunning += (running * dt) / 3600;
      lastT = now;
    }
  };

  const emptied = (inst: Instance, now: number) => {
    inst.task = null;
    inst.emptySince = now;
    if (now >= inst.readyAt)
      events.push(now + model.emptyInstanceLingerS, { kind: 'emptyCheck', instance: inst, since: now });
  };
  const removeTask = (task: Task, now: number) => {
    tasks = tasks.filter((t) => t !== task);
    const inst = task.instance;
    if (now < inst.launchAt) {
      inst.terminatedAt = inst.launchAt; // never launched: nothing billed
      inst.task = null;
    } else emptied(inst, now);
  };
  const startTask = (now: number) => {
    const free = instances.find((i) => i.task === null && i.terminatedAt === null);
    const instance =
      free ??
      (() => {
        const launchAt = now + model.capacityProviderDelayS;
        const inst: Instance = {
          launchAt,
          readyAt: launchAt + uniform(rnd, ...model.instanceBootS),
          task: null,
          emptySince: now,
          terminatedAt: null,
        };
        instances.push(inst);
        events.push(inst.readyAt, { kind: 'instanceReady', instance: inst });
        return inst;
      })();
    const task: Task = { state: 'provisioning', busy: 0, instance, created: now };
    instance.task = task;
    tasks.push(task);
    if (now >= instance.readyAt) load(task, now);
  };
  const load = (task: Task, now: number) => {
    task.state = 'loading';
    events.push(now + uniform(rnd, ...model.modelLoadS), { kind: 'taskReady', task });
  };
  /** The ECS service scheduler: start or stop tasks until the active ones match the desired count. */
  const reconcile = (now: number) => {
    const active = tasks.filter((t) => t.state !== 'draining');
    for (let n = active.length; n < desired; n++) startTask(now);
    let excess = active.length - desired;
    if (excess <= 0) return;
    const rank = (t: Task) => (t.state === 'provisioning' ? 0 : t.state === 'loading' ? 1 : t.busy === 0 ? 2 : 3);
    const victims = [...active].sort((a, b) => rank(a) - rank(b) || b.created - a.created);
    for (const t of victims) {
      if (excess-- <= 0) break;
      if (t.busy > 0) t.state = 'draining';
      else removeTask(t, now);
    }
  };
  const dispatch = (now: number) => {
    for (const task of tasks) {
      while (task.state === 'running' && task.busy < model.concurrency && visible() > 0) {
        const i = queue[queueHead++]!;
        const job = jobs[i]!;
        waits[i] = now - job.arrival;
        task.busy++;
        inFlight++;
        events.push(now + job.service, { kind: 'done', task, job });
      }
    }
    if (queueHead > 4096 && queueHead * 2 > queue.length) queue.splice(0, queueHead), (queueHead = 0);
  };
  const evaluate = (now: number) => {
    if (fleet.kind !== 'autoscale') return;
    const seen = datapoints.filter((d) => d.end + model.metricDelayS <= now);
    const newest = seen.at(-1);
    const decision = decideScaling(fleet.policy, {
      periods: seen,
      visibleMax: newest?.visibleMax ?? 0,
      desiredMax: newest?.desiredMax ?? null,
      capacity: desired,
      secondsSinceScaleOut: now - lastScaleOut,
      secondsSinceScaleIn: now - lastScaleIn,
      secondsSinceWake: now - lastWake,
    });
    actions[decision.action]++;
    if (decision.action === 'wake') lastWake = now;
    if (decision.action === 'scale-out') lastScaleOut = now;
    if (decision.action === 'scale-in') lastScaleIn = now;
    if (decision.desired !== desired) {
      desired = decision.desired;
      desiredMax = Math.max(desiredMax, desired);
      reconcile(now);
    }
  };

  // Start of the day: the minimum (or the fixed fleet) already warm.
  for (let n = 0; n < desired; n++) {
    const inst: Instance = { launchAt: 0, readyAt: 0, task: null, emptySince: 0, terminatedAt: null };
    const task: Task = { state: 'running', busy: 0, instance: inst, created: 0 };
    inst.task = task;
    instances.push(inst);
    tasks.push(task);
  }
  events.push(METRIC_PERIOD_S, { kind: 'tick' });

  let next = 0; // next arrival
  let done = 0;
  let now = 0;
  while (done < jobs.length || events.peekTime() < dayS) {
    const arrival = jobs[next]?.arrival ?? Infinity;
    if (arrival <= events.peekTime()) {
      now = arrival;
      advance(now);
      queue.push(next++);
      visibleMax = Math.max(visibleMax, visible());
      const hour = Math.min(23, Math.floor(now / 3600));
      hourly[hour]!.jobs++;
      dispatch(now);
      continue;
    }
    const { t, e } = events.pop();
    now = t;
    advance(now);
    switch (e.kind) {
      case 'tick': {
        const p = METRIC_PERIOD_S;
        datapoints.push({
          end: now,
          visible: visibleArea / p,
          inFlight: inFlightArea / p,
          running: runningArea / p,
          visibleMax,
          desiredMax,
        });
        if (datapoints.length > 64) datapoints.shift();
        visibleArea = inFlightArea = runningArea = 0;
        visibleMax = visible();
        desiredMax = desired;
        evaluate(now);
        const dp = datapoints.at(-1)!;
        timeline.push([now, desired, Math.round(dp.running * 100) / 100, Math.round(dp.visible * 100) / 100]);
        events.push(now + METRIC_PERIOD_S, { kind: 'tick' });
        break;
      }
      case 'done': {
        const { task, job } = e;
        task.busy--;
        inFlight--;
        done++;
        const turnaround = now - job.arrival;
        if (turnaround > model.deadlineS) {
          pastDeadline++;
          hourly[Math.min(23, Math.floor(job.arrival / 3600))]!.pastDeadline++;
        }
        if (turnaround > model.syncWaitS) pastSyncWait++;
        if (task.state === 'draining' && task.busy === 0) removeTask(task, now);
        dispatch(now);
        break;
      }
      case 'instanceReady': {
        const task = e.instance.task;
        if (e.instance.terminatedAt !== null) break;
        if (task) load(task, now);
        else emptied(e.instance, now);
        break;
      }
      case 'taskReady': {
        if (!tasks.includes(e.task) || e.task.state !== 'loading') break; // stopped while loading
        e.task.state = 'running';
        dispatch(now);
        break;
      }
      case 'emptyCheck': {
        const inst = e.instance;
        if (inst.task === null && inst.terminatedAt === null && inst.emptySince === e.since) inst.terminatedAt = now;
        break;
      }
    }
    maxTasks = Math.max(maxTasks, tasks.length);
  }
  const end = Math.max(now, dayS);
  const instanceSeconds = instances.reduce(
    (s, i) => s + Math.max(0, Math.min(i.terminatedAt ?? end, end) - i.launchAt),
    0,
  );
  return { jobs: jobs.length, waits, pastDeadline, pastSyncWait, instanceSeconds, maxTasks, actions, hourly, timeline };
}
