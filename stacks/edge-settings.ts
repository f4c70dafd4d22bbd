// How the edge Worker is built: plain data read by stacks/edge.ts (handed to sst.cloudflare.Worker)
// and by test/edge/build.ts (which bundles it the way SST does, to run it in workerd and measure it).

export const EDGE_WORKER = {
  /** the Worker's module, relative to the repository root */
  handler: 'functions/edge/worker.ts',
  /**
   * nodejs_compat: node:crypto, node:events, Buffer, and `pg` over cloudflare:sockets. The date
   * pins workerd's behaviour; it must not be later than the workerd the tests run (miniflare's).
   */
  compatibility: { date: '2026-04-01', flags: ['nodejs_compat'] },
  /** the Hyperdrive binding's name in the Worker's env (functions/edge/services.ts reads it) */
  hyperdriveBinding: 'EdgeDatabase',
} as const;
