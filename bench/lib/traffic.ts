// A seeded day of generation jobs for bench:autoscale: a diurnal curve (trough 03:00 UTC, peak
// 15:00) plus random bursts (a batch client, a launch), each job with a lognormal service time.

/** mulberry32 (Tommy Ettinger's 32-bit generator): tiny, fast, good enough for a simulation. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Random = () => number;

export const uniform = (rnd: Random, lo: number, hi: number) => lo + (hi - lo) * rnd();
export const exponential = (rnd: Random, rate: number) => -Math.log(1 - rnd()) / rate;

/** Lognormal with the given mean and log-space sigma (Box–Muller). */
export function lognormal(rnd: Random, mean: number, sigma: number): number {
  const z = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  return Math.exp(Math.log(mean) - (sigma * sigma) / 2 + sigma * z);
}

export interface TrafficShape {
  /** jobs/s at the 03:00 trough and the 15:00 peak */
  troughPerS: number;
  peakPerS: number;
  burstsPerDay: number;
  burstMinutes: [number, number];
  /** extra jobs/s during a burst */
  burstPerS: [number, number];
  /** mean service time of one job on a task (WORKER_CONCURRENCY jobs run at once) and its log-space sigma */
  meanServiceS: number;
  serviceSigma: number;
}

export interface Job {
  arrival: number;
  service: number;
}

export interface Burst {
  start: number;
  end: number;
  perS: number;
}

export const DAY_S = 86_400;

/** Diurnal rate at second `t` of the day: trough + (peak − trough) × ((1 − cos)/2)², so nights are long and quiet. */
export function diurnalRate(shape: TrafficShape, t: number): number {
  const phase = (2 * Math.PI * (t / 3600 - 3)) / 24;
  return shape.troughPerS + (shape.peakPerS - shape.troughPerS) * ((1 - Math.cos(phase)) / 2) ** 2;
}

/** One day of arrivals (non-homogeneous Poisson by thinning), sorted by time. */
export function generateDay(shape: TrafficShape, seed: number): { jobs: Job[]; bursts: Burst[] } {
  const rnd = mulberry32(seed);
  const bursts: Burst[] = [];
  for (
    let t = exponential(rnd, shape.burstsPerDay / DAY_S);
    t < DAY_S;
    t += exponential(rnd, shape.burstsPerDay / DAY_S)
  ) {
    bursts.push({
      start: t,
      end: t + 60 * uniform(rnd, ...shape.burstMinutes),
      perS: uniform(rnd, ...shape.burstPerS),
    });
  }
  const job = (arrival: number): Job => ({ arrival, service: lognormal(rnd, shape.meanServiceS, shape.serviceSigma) });
  const jobs: Job[] = [];
  for (let t = exponential(rnd, shape.peakPerS); t < DAY_S; t += exponential(rnd, shape.peakPerS)) {
    if (rnd() * shape.peakPerS < diurnalRate(shape, t)) jobs.push(job(t));
  }
  for (const b of bursts) {
    for (let t = b.start + exponential(rnd, b.perS); t < Math.min(b.end, DAY_S); t += exponential(rnd, b.perS))
      jobs.push(job(t));
  }
  jobs.sort((x, y) => x.arrival - y.arrival);
  return { jobs, bursts };
}
