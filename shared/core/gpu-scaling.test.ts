import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  GPU_SCALING,
  HIGH_ALARM_DATAPOINTS,
  LOW_ALARM_DATAPOINTS,
  backlogPerTask,
  decideScaling,
  type GpuScalingPolicy,
  type PeriodMetrics,
  type ScalingObservation,
} from './gpu-scaling.ts';

const policy: GpuScalingPolicy = {
  ...GPU_SCALING,
  minTasks: 0,
  maxTasks: 8,
  backlog: 'visible+inFlight',
  backlogPerTaskTarget: 2,
};
/** `n` periods with `running` tasks and `perTask` jobs (waiting) per task. */
const periods = (n: number, running: number, perTask: number): PeriodMetrics[] =>
  Array.from({ length: n }, () => ({ visible: running * perTask, inFlight: 0, running }));
const observe = (o: Partial<ScalingObservation>): ScalingObservation => ({
  periods: [],
  visibleMax: 0,
  desiredMax: 0,
  capacity: 0,
  secondsSinceScaleOut: Infinity,
  secondsSinceScaleIn: Infinity,
  secondsSinceWake: Infinity,
  ...o,
});

const arbPolicy = fc.record({
  minTasks: fc.integer({ min: 0, max: 3 }),
  maxTasks: fc.integer({ min: 3, max: 16 }),
  backlog: fc.constantFrom('visible' as const, 'visible+inFlight' as const),
  backlogPerTaskTarget: fc.double({ min: 0.5, max: 20, noNaN: true }),
  scaleOutCooldownS: fc.integer({ min: 0, max: 600 }),
  scaleInCooldownS: fc.integer({ min: 0, max: 900 }),
  wakeCooldownS: fc.integer({ min: 0, max: 600 }),
});
const arbPeriod = fc.record({
  visible: fc.double({ min: 0, max: 500, noNaN: true }),
  inFlight: fc.double({ min: 0, max: 32, noNaN: true }),
  running: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 16, noNaN: true })),
});
const arbObservation = fc.record({
  periods: fc.array(arbPeriod, { maxLength: 20 }),
  visibleMax: fc.integer({ min: 0, max: 500 }),
  desiredMax: fc.option(fc.integer({ min: 0, max: 16 })),
  capacity: fc.integer({ min: 0, max: 16 }),
  secondsSinceScaleOut: fc.integer({ min: 0, max: 3600 }),
  secondsSinceScaleIn: fc.integer({ min: 0, max: 3600 }),
  secondsSinceWake: fc.integer({ min: 0, max: 3600 }),
});

describe('backlogPerTask', () => {
  it('divides the visible jobs, plus those in flight when the policy says so, by the running tasks', () => {
    const p = { visible: 6, inFlight: 4, running: 2 };
    expect(backlogPerTask({ ...policy, backlog: 'visible' }, p)).toBe(3);
    expect(backlogPerTask({ ...policy, backlog: 'visible+inFlight' }, p)).toBe(5);
  });

  it('has no data without a running task', () => {
    expect(backlogPerTask(policy, { visible: 5, inFlight: 0, running: 0 })).toBeNull();
  });
});

describe('decideScaling', () => {
  it('never leaves [min, max], whatever it observes', () => {
    fc.assert(
      fc.property(arbPolicy, arbObservation, (p, o) => {
        const { desired } = decideScaling(p, o);
        expect(desired).toBeGreaterThanOrEqual(p.minTasks);
        expect(desired).toBeLessThanOrEqual(p.maxTasks);
        expect(Number.isInteger(desired)).toBe(true);
      }),
    );
  });

  it('never scales in during the scale-in cooldown, nor out during the scale-out cooldown except to wake from zero', () => {
    fc.assert(
      fc.property(arbPolicy, arbObservation, (p, o) => {
        const capacity = Math.min(p.maxTasks, Math.max(p.minTasks, o.capacity));
        const { desired, action } = decideScaling(p, o);
        if (o.secondsSinceScaleIn < p.scaleInCooldownS) expect(desired).toBeGreaterThanOrEqual(capacity);
        if (o.secondsSinceScaleOut < p.scaleOutCooldownS && action !== 'wake')
          expect(desired).toBeLessThanOrEqual(capacity);
        if (action === 'wake') expect(desired).toBe(capacity + 1);
      }),
    );
  });

  it('wakes from zero when jobs wait, one task at a time, once per wake cooldown', () => {
    expect(decideScaling(policy, observe({ visibleMax: 3, desiredMax: 0 }))).toEqual({ desired: 1, action: 'wake' });
    expect(decideScaling(policy, observe({ visibleMax: 3, desiredMax: null }))).toEqual({ desired: 1, action: 'wake' });
    expect(
      decideScaling(policy, observe({ visibleMax: 3, desiredMax: 0, secondsSinceWake: policy.wakeCooldownS - 1 })),
    ).toEqual({ desired: 0, action: 'hold' });
    expect(decideScaling(policy, observe({ visibleMax: 0, desiredMax: 0 }))).toEqual({ desired: 0, action: 'hold' });
    // a stale datapoint (desired still 0) after a wake adds a second task, never removes one
    expect(decideScaling(policy, observe({ visibleMax: 3, desiredMax: 0, capacity: 1 }))).toEqual({
      desired: 2,
      action: 'wake',
    });
  });

  it('scales out to ceil(capacity × backlog ÷ target) after three datapoints above the target', () => {
    const three = periods(HIGH_ALARM_DATAPOINTS, 2, 5); // 5 jobs per task, target 2
    expect(decideScaling(policy, observe({ periods: three, capacity: 2 }))).toEqual({
      desired: 5,
      action: 'scale-out',
    });
    expect(decideScaling(policy, observe({ periods: periods(2, 2, 5), capacity: 2 }))).toEqual({
      desired: 2,
      action: 'hold',
    });
    expect(decideScaling(policy, observe({ periods: periods(3, 2, 50), capacity: 2 }))).toEqual({
      desired: 8,
      action: 'scale-out',
    });
    expect(decideScaling(policy, observe({ periods: three, capacity: 2, secondsSinceScaleOut: 30 }))).toEqual({
      desired: 2,
      action: 'hold',
    });
  });

  it('does nothing on missing data: a period without running tasks breaks the alarm', () => {
    const gap = [...periods(2, 2, 5), { visible: 40, inFlight: 0, running: 0 }, ...periods(2, 2, 5)];
    expect(decideScaling(policy, observe({ periods: gap, capacity: 2 })).action).toBe('hold');
  });

  it('scales in only after fifteen datapoints below 90 % of the target, to zero when idle', () => {
    const idle = periods(LOW_ALARM_DATAPOINTS, 3, 0);
    expect(decideScaling(policy, observe({ periods: idle, capacity: 3 }))).toEqual({ desired: 0, action: 'scale-in' });
    expect(decideScaling({ ...policy, minTasks: 1 }, observe({ periods: idle, capacity: 3 }))).toEqual({
      desired: 1,
      action: 'scale-in',
    });
    expect(decideScaling(policy, observe({ periods: idle.slice(1), capacity: 3 })).action).toBe('hold');
    expect(decideScaling(policy, observe({ periods: idle, capacity: 3, secondsSinceScaleIn: 10 })).action).toBe('hold');
    // 1.9 per task is below the target 2 but not below 90 % of it
    expect(decideScaling(policy, observe({ periods: periods(LOW_ALARM_DATAPOINTS, 3, 1.9), capacity: 3 })).action).toBe(
      'hold',
    );
    // 1 per task on 4 tasks: 2 are enough
    expect(decideScaling(policy, observe({ periods: periods(LOW_ALARM_DATAPOINTS, 4, 1), capacity: 4 }))).toEqual({
      desired: 2,
      action: 'scale-in',
    });
  });

  it('a steady backlog at the target holds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 40 }), (tasks, n) => {
        const steady = periods(n, tasks, policy.backlogPerTaskTarget);
        expect(decideScaling(policy, observe({ periods: steady, capacity: tasks }))).toEqual({
          desired: tasks,
          action: 'hold',
        });
      }),
    );
  });
});

describe('GPU_SCALING', () => {
  it('is a policy AWS accepts', () => {
    expect(GPU_SCALING.minTasks).toBeGreaterThanOrEqual(0);
    expect(GPU_SCALING.maxTasks).toBeGreaterThanOrEqual(Math.max(1, GPU_SCALING.minTasks));
    expect(GPU_SCALING.backlogPerTaskTarget).toBeGreaterThan(0);
  });
});
