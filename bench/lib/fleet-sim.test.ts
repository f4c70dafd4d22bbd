import { describe, expect, it } from 'vitest';
import { GPU_SCALING } from '../../shared/core/gpu-scaling.ts';
import { simulate, type FleetModel } from './fleet-sim.ts';
import { DAY_S, generateDay, type TrafficShape } from './traffic.ts';

const MODEL: FleetModel = {
  capacityProviderDelayS: 60,
  instanceBootS: [90, 180],
  modelLoadS: [60, 120],
  emptyInstanceLingerS: 900,
  metricDelayS: 60,
  concurrency: 2,
  deadlineS: 120,
  syncWaitS: 30,
};
const SHAPE: TrafficShape = {
  troughPerS: 0.001,
  peakPerS: 0.05,
  burstsPerDay: 2,
  burstMinutes: [2, 5],
  burstPerS: [0.2, 0.4],
  meanServiceS: 6,
  serviceSigma: 0.6,
};

describe('simulate', () => {
  it('is deterministic for a seed', () => {
    const { jobs } = generateDay(SHAPE, 1);
    const fleet = { kind: 'autoscale' as const, policy: GPU_SCALING };
    expect(simulate(jobs, fleet, MODEL, 2, DAY_S)).toEqual(simulate(jobs, fleet, MODEL, 2, DAY_S));
  });

  it('a warm fixed fleet serves every job at once and bills every hour', () => {
    const { jobs } = generateDay({ ...SHAPE, burstsPerDay: 0 }, 3);
    const r = simulate(jobs, { kind: 'fixed', tasks: 4 }, MODEL, 1, DAY_S);
    expect(jobs.length).toBeGreaterThan(500);
    expect(Math.max(...r.waits)).toBe(0);
    expect(r.pastDeadline).toBe(0);
    expect(r.instanceSeconds).toBeCloseTo(4 * DAY_S, 0);
  });

  it('from zero, one job waits for the wake alarm, an instance and the model, then the fleet goes back to zero', () => {
    const policy = { ...GPU_SCALING, minTasks: 0 };
    const r = simulate([{ arrival: 1000, service: 5 }], { kind: 'autoscale', policy }, MODEL, 1, DAY_S);
    const least = MODEL.capacityProviderDelayS + MODEL.instanceBootS[0] + MODEL.modelLoadS[0];
    expect(r.waits[0]).toBeGreaterThan(least);
    expect(r.pastDeadline).toBe(1);
    expect(r.actions.wake).toBe(1);
    expect(r.actions['scale-in']).toBe(1);
    expect(r.instanceSeconds).toBeLessThan(3600);
    expect(r.timeline.at(-1)![1]).toBe(0);
  });
});
