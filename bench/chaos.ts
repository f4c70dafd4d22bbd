// npm run bench:chaos [-- --seconds 600 --concurrency 6 --fault-every 20 --seed 7]   (or BENCH_SECONDS=150)
// Mixed traffic against two real `npm start` processes sharing a PostgreSQL 15 server (A runs the
// worker and started the chain and queues; B joined them): retrieves, answers, Idempotency-Key
// retries sent to both processes at once, relayed claims, on-demand settlements, payout reads —
// while random faults hit: kill -9 of a process (restarted), a PostgreSQL restart, a chain restart
// (kill -9 of anvil; its owner restarted loads the saved state, the reconciler re-sends what is
// missing), kill -9 of the worker (its supervisor restarts it). Afterwards: calls per status,
// charges vs successful calls (a call answered with an error must have charged nothing), repairs
// the reconciler made, and the chain-aware ledger check's discrepancies (must be 0).
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { Address } from 'viem';
import { ANVIL_SETTLER_KEY, isAlive } from '../shared/chain/anvil.ts';
import { createSettlementChain } from '../shared/chain/distributor.ts';
import { openPg } from '../shared/db/pg.ts';
import { checkLedger } from '../shared/services/ledger-check.ts';
import { readSetting } from '../shared/store/deployment.ts';
import { http, startApiProcess, type ApiProcess } from '../test/api-process.ts';
import { createDatabase, startPostgres } from '../test/postgres-server.ts';
import { loadSotu, loadSotuQuestions } from './corpora/sotu.ts';
import { BENCH_RATE_LIMITS } from './lib/http.ts';
import { printTable, saveResults } from './lib/stats.ts';
import { mulberry32 } from './lib/traffic.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: process.env.BENCH_SECONDS ?? '600' },
    concurrency: { type: 'string', default: '6' },
    'fault-every': { type: 'string', default: '20' },
    seed: { type: 'string', default: '7' },
  },
});
const SECONDS = Number(args.seconds);
const CONCURRENCY = Number(args.concurrency);
const FAULT_EVERY_S = Number(args['fault-every']);
const rnd = mulberry32(Number(args.seed));
const ADMIN = 'cp_live_chaosbenchadminkey000000000001';
const OPS = ['retrieve', 'answer', 'keyed-retry', 'claim', 'settle', 'payout'] as const;
type Op = (typeof OPS)[number];
const WEIGHTS: Record<Op, number> = { retrieve: 45, answer: 12, 'keyed-retry': 15, claim: 12, settle: 4, payout: 12 };
const FAULTS = ['kill -9 API process', 'restart PostgreSQL', 'restart the chain', 'kill -9 the worker'] as const;

const pickOp = (): Op => {
  let x = rnd() * Object.values(WEIGHTS).reduce((a, b) => a + b, 0);
  for (const op of OPS) if ((x -= WEIGHTS[op]) < 0) return op;
  return 'retrieve';
};

const pg = await startPostgres();
const url = await createDatabase(pg.url, 'citepay_chaos');
const env = {
  DATABASE_URL: url,
  CITEPAY_ADMIN_KEY: ADMIN,
  LOG_LEVEL: 'info',
  CHAIN_RECONCILE_SECONDS: '10',
  ...BENCH_RATE_LIMITS,
};
const procs: { a: ApiProcess; b: ApiProcess } = {
  a: await startApiProcess(env, 600_000),
  b: await startApiProcess({ ...env, START_WORKER: 'false' }, 600_000),
};
// Whatever happens below, stop what this bench started (processes, the chain node, PostgreSQL).
let chainDirForCleanup: string | undefined;
const cleanUp = async () => {
  for (const p of [procs.b, procs.a]) if (p.child.exitCode === null && p.child.signalCode === null) await p.stop();
  try {
    if (chainDirForCleanup) {
      const pid = (JSON.parse(readFileSync(join(chainDirForCleanup, 'node.json'), 'utf8')) as { pid: number }).pid;
      if (isAlive(pid)) process.kill(pid, 'SIGTERM');
    }
  } catch {
    /* stopped with its owner */
  }
  await pg.stop();
};
process.on('uncaughtException', (err) => {
  console.error(err);
  void cleanUp().finally(() => process.exit(2));
});
const db = openPg(url, { max: 3 });
chainDirForCleanup = (await readSetting<{ dir: string }>(db, 'local.chain'))?.dir;
const live = () => [procs.a, procs.b].filter((p) => p.child.exitCode === null && p.child.signalCode === null);
const base = () => {
  const l = live();
  return l.length ? l[Math.floor(rnd() * l.length)]!.url : procs.a.url;
};

// Accounts: a consumer, four contributors with their own wallets and a few SOTU addresses each.
const questions = loadSotuQuestions().map((q) => q.question);
const corpus = loadSotu();
const consumer = (
  await http(procs.a.url, 'POST', '/v1/admin/accounts', {
    key: ADMIN,
    json: { kind: 'consumer', name: 'chaos', credits: '1000000000000' },
  })
).body.apiKey.key as string;
const wallets: Address[] = [];
for (let i = 0; i < 4; i++) {
  const wallet = privateKeyToAccount(generatePrivateKey()).address;
  wallets.push(wallet);
  const acct = await http(procs.a.url, 'POST', '/v1/admin/accounts', {
    key: ADMIN,
    json: { kind: 'contributor', name: `chaos ${i}`, wallet },
  });
  const key = acct.body.apiKey.key as string;
  const dn = await http(procs.a.url, 'POST', '/v1/datanets', {
    key,
    json: { name: `chaos ${i}`, pricePerSource: '2000' },
  });
  for (const doc of corpus.slice(i, i + 1))
    await http(procs.a.url, 'POST', `/v1/datanets/${dn.body.id}/documents`, {
      key,
      json: { title: doc.title, content: doc.text },
    });
}

// ---- traffic ----------------------------------------------------------------------------------
const statuses: Record<Op, Record<string, number>> = Object.fromEntries(OPS.map((op) => [op, {}])) as Record<
  Op,
  Record<string, number>
>;
const count = (op: Op, status: string) => (statuses[op][status] = (statuses[op][status] ?? 0) + 1);
/** request ids the client saw succeed (200/202), and those it saw fail with a charged-looking id */
const succeeded = new Set<string>();
const missingRetryAfter: string[] = [];
const nonceErrors: string[] = [];
let keyed = 0;

async function call(op: Op, i: number): Promise<void> {
  const q = questions[i % questions.length]!;
  const target = base();
  const record = (r: { status: number; body: any; headers: Headers }) => {
    count(op, String(r.status));
    if (r.status === 503 && !r.headers.get('retry-after'))
      missingRetryAfter.push(`${op}: ${r.body?.error?.message ?? ''}`.slice(0, 200));
    if (/nonce/i.test(JSON.stringify(r.body ?? '')))
      nonceErrors.push(`${op} ${r.status}: ${JSON.stringify(r.body).slice(0, 200)}`);
    if (r.status >= 200 && r.status < 300 && r.body?.requestId) succeeded.add(r.body.requestId as string);
  };
  try {
    if (op === 'retrieve')
      record(await http(target, 'POST', '/v1/retrieve', { key: consumer, json: { query: q, topK: 3 } }));
    else if (op === 'answer') record(await http(target, 'POST', '/v1/answers', { key: consumer, json: { query: q } }));
    else if (op === 'keyed-retry') {
      const headers = { 'idempotency-key': `chaos-${keyed++}` };
      // Settled one by one: a process that refuses the connection must not hide the other's (charged) reply.
      const replies = await Promise.allSettled(
        live().map((p) => http(p.url, 'POST', '/v1/retrieve', { key: consumer, json: { query: q, topK: 2 }, headers })),
      );
      for (const r of replies)
        if (r.status === 'fulfilled') record(r.value);
        else count(op, `network:${((r.reason as Error).cause as { code?: string } | undefined)?.code ?? 'error'}`);
    } else if (op === 'claim')
      record(await http(target, 'POST', `/v1/payouts/${wallets[i % wallets.length]}/claim`, { key: consumer }));
    else if (op === 'settle') record(await http(target, 'POST', '/v1/admin/settlements', { key: ADMIN }));
    else record(await http(target, 'GET', `/v1/payouts/${wallets[i % wallets.length]}`));
  } catch (err) {
    count(op, `network:${((err as Error).cause as { code?: string } | undefined)?.code ?? 'error'}`);
  }
}

// ---- faults -----------------------------------------------------------------------------------
const faults: { at: number; fault: string; recoveredInS: number; note?: string }[] = [];
const started = performance.now();
const since = () => (performance.now() - started) / 1000;
const restart = async (which: 'a' | 'b', signal: NodeJS.Signals) => {
  const p = procs[which];
  const exited = new Promise((r) =>
    p.child.exitCode !== null || p.child.signalCode !== null ? r(null) : p.child.once('exit', r),
  );
  p.child.kill(signal);
  await exited;
  // Under load a start can take minutes: wait for it, and try again if it gave up.
  for (let attempt = 1; ; attempt++) {
    try {
      procs[which] = await startApiProcess(which === 'a' ? env : { ...env, START_WORKER: 'false' }, 600_000);
      return;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
};
const chainDir = async () => (await readSetting<{ dir: string }>(db, 'local.chain'))!.dir;
const anvilPid = async () =>
  (JSON.parse(readFileSync(join(await chainDir(), 'node.json'), 'utf8')) as { pid: number }).pid;

async function injectFault(fault: (typeof FAULTS)[number]): Promise<string | undefined> {
  if (fault === 'kill -9 API process') {
    const which = rnd() < 0.5 ? 'a' : 'b';
    await restart(which, 'SIGKILL');
    return `process ${which}`;
  }
  if (fault === 'restart PostgreSQL') {
    await pg.restart();
    return undefined;
  }
  if (fault === 'restart the chain') {
    // The node dies with no chance to save; whichever process starts next loads the saved state.
    const pid = await anvilPid();
    process.kill(pid, 'SIGKILL');
    await restart('a', 'SIGKILL'); // recorded chain gone: A starts one from the saved state
    await restart('b', 'SIGTERM'); // B joins the new one
    return `anvil pid ${pid}`;
  }
  // The worker: a child of A running gpu-worker/main.ts; its supervisor restarts it.
  const children = readFileSync(`/proc/${procs.a.child.pid}/task/${procs.a.child.pid}/children`, 'utf8')
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
  const worker = children.find(
    (pid) => isAlive(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('gpu-worker'),
  );
  if (worker) process.kill(worker, 'SIGKILL');
  return worker ? `worker pid ${worker}` : 'no worker found';
}

const deadline = performance.now() + SECONDS * 1000;
let next = 0;
const callers = Array.from({ length: CONCURRENCY }, async () => {
  while (performance.now() < deadline) await call(pickOp(), next++);
});
const faultOffset = Math.floor(rnd() * FAULTS.length);
let faultCount = 0;
const faulter = (async () => {
  while (performance.now() + FAULT_EVERY_S * 1000 < deadline) {
    await new Promise((r) => setTimeout(r, FAULT_EVERY_S * 1000 * (0.5 + rnd())));
    if (performance.now() >= deadline) break;
    const fault = FAULTS[(faultOffset + faultCount++) % FAULTS.length]!; // every kind comes up, from a random start
    const at = since();
    const t = performance.now();
    const note = await injectFault(fault).catch((err: Error) => `fault failed: ${err.message.slice(0, 200)}`);
    // Recovered: a retrieve answers 200 on every live process.
    for (;;) {
      const ok = await Promise.all(
        live().map((p) =>
          http(p.url, 'POST', '/v1/retrieve', { key: consumer, json: { query: 'recovery probe', topK: 1 } })
            .then((r) => (r.status === 200 ? r.body.requestId : null))
            .catch(() => null),
        ),
      );
      if (ok.every(Boolean)) {
        for (const id of ok) succeeded.add(id as string);
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    faults.push({ at: Math.round(at), fault, recoveredInS: (performance.now() - t) / 1000, ...(note ? { note } : {}) });
    console.log(
      `[${Math.round(at)} s] ${fault}${note ? ` (${note})` : ''}: recovered in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
  }
})();
await Promise.all([...callers, faulter]);

// ---- drain and check --------------------------------------------------------------------------
// Answers still running finish (the worker is up); one last settlement and reconciliation.
for (let i = 0; i < 600; i++) {
  const r = await db.query<{ n: string }>(`SELECT count(*) AS n FROM answers WHERE status IN ('queued', 'running')`);
  if (Number(r.rows[0]!.n) === 0) break;
  await new Promise((res) => setTimeout(res, 500));
}
let final: { status: number; body: any } = { status: 0, body: null };
for (let i = 0; i < 30 && final.body?.status !== 'confirmed' && final.body?.status !== 'idle'; i++) {
  if (i > 0) await new Promise((res) => setTimeout(res, 1000));
  final = await http(base(), 'POST', '/v1/admin/settlements', { key: ADMIN }).catch(() => ({ status: 0, body: null }));
}
// Answers the client saw succeed asynchronously (202 → later charged): their request ids.
const answered = await db.query<{ request_id: string }>(`SELECT request_id FROM answers WHERE status = 'succeeded'`);
const answerIdsSucceeded = new Set(answered.rows.map((r) => r.request_id));
const charges = await db.query<{ request_id: string; kind: string }>(
  `SELECT t.request_id, t.kind FROM ledger_transactions t JOIN api_keys k ON k.id = t.key_id WHERE t.kind IN ('retrieve', 'answer')`,
);
const chargedNotSucceeded = charges.rows.filter(
  (c) => !succeeded.has(c.request_id) && !(c.kind === 'answer' && answerIdsSucceeded.has(c.request_id)),
);
const recorded = (await readSetting<{ rpcUrl: string; distributor: Address; token: Address }>(db, 'local.chain'))!;
const chain = createSettlementChain({
  rpcUrl: recorded.rpcUrl,
  settlerKey: ANVIL_SETTLER_KEY,
  distributor: recorded.distributor,
  token: recorded.token,
});
const checks = await checkLedger(db, { chain });
const repairs = await db.query<{ kind: string; n: string }>(
  `SELECT kind, count(*) AS n FROM chain_repairs GROUP BY kind`,
);
const repairCount = Object.fromEntries(repairs.rows.map((r) => [r.kind, Number(r.n)]));

printTable(
  `bench:chaos — ${SECONDS} s, ${CONCURRENCY} callers, 2 npm start processes on PostgreSQL 15, a fault every ~${FAULT_EVERY_S} s`,
  OPS.map((op) => ({
    call: op,
    total: Object.values(statuses[op]).reduce((a, b) => a + b, 0),
    ...Object.fromEntries(Object.entries(statuses[op]).sort()),
  })),
);
printTable(
  'faults',
  faults.map((f) => ({ at_s: f.at, fault: f.fault, recovered_in_s: f.recoveredInS, note: f.note ?? '' })),
);
const succeededIds = new Set([...succeeded, ...answerIdsSucceeded]);
const chargedIds = new Set(charges.rows.map((c) => c.request_id));
const summary = {
  calls: Object.values(statuses)
    .flatMap((s) => Object.values(s))
    .reduce((a, b) => a + b, 0),
  /** distinct paid calls that answered 200/202 (retries of one Idempotency-Key are one call; answers that finished later count) */
  succeededPaidCalls: succeededIds.size,
  charges: charges.rows.length,
  /** must be 0: a call answered with an error charged nothing */
  chargedButAnsweredWithAnError: chargedNotSucceeded.length,
  /** succeeded calls with no ledger transaction: those whose sources cost 0 (a receipt of 0, nothing to charge) */
  succeededWithoutCharge: [...succeededIds].filter((id) => !chargedIds.has(id)).length,
  fiveHundreds: Object.values(statuses).reduce(
    (n, s) =>
      n +
      Object.entries(s)
        .filter(([k]) => k.startsWith('5') && k !== '503')
        .reduce((a, [, v]) => a + v, 0),
    0,
  ),
  servicesUnavailableWithoutRetryAfter: missingRetryAfter.length,
  nonceErrors: nonceErrors.length,
  repairs: repairCount,
  discrepancies: checks.filter((c) => !c.ok).length,
  finalSettlement: final.body?.status,
};
printTable(
  'money',
  Object.entries(summary).map(([k, v]) => ({
    measure: k,
    value: typeof v === 'object' ? JSON.stringify(v) : String(v),
  })),
);
for (const c of checks.filter((x) => !x.ok)) console.log(`DISCREPANCY ${c.name}: ${c.offenders.join('; ')}`);
const file = saveResults('chaos', {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
  seconds: SECONDS,
  concurrency: CONCURRENCY,
  faultEverySeconds: FAULT_EVERY_S,
  seed: Number(args.seed),
  statuses,
  faults,
  summary,
  chargedNotSucceeded: chargedNotSucceeded.slice(0, 20),
  missingRetryAfter: missingRetryAfter.slice(0, 20),
  nonceErrors: nonceErrors.slice(0, 20),
  checks: checks.map((c) => ({ name: c.name, ok: c.ok, checked: c.checked, offenders: c.offenders })),
});
console.log(`\nsaved ${file}`);

// ---- stop everything this bench started --------------------------------------------------------
chainDirForCleanup = await chainDir();
await db.close();
await cleanUp();
process.exit(summary.discrepancies === 0 ? 0 : 1);
