// npm run bench:scale — does a call's cost grow with the caller's history? (issue 18)
// For PGlite and PostgreSQL 15, and for the baseline (BASELINE_COMMIT, default 861568f, extracted
// with `git archive` into a temporary folder with this checkout's node_modules) and this checkout,
// one process each (bench/lib/scale-run.ts) seeds 0, 100k and 1M prior calls of one consumer and
// one owner and times POST /v1/retrieve, POST /v1/answers (accept), GET /v1/usage, GET /v1/earnings,
// GET /v1/payouts/{wallet} and the two dashboard overviews over HTTP, with statements per call.
// Env: SCALE_SIZES (default 0,100000,1000000; e.g. 0,10000 for a quick run), SCALE_RUNS (40),
// SCALE_DOCS (State of the Union addresses ingested, 20), SCALE_WARMUP (untimed calls per route and size,
// 5), SCALE_DATABASES (pglite,postgres),
// SCALE_VERSIONS (baseline,change), BASELINE_COMMIT, SCALE_SEED (bulk: triggers off, their rules applied
// set-based and checked, bench/lib/seed-history.ts; or triggers), SCALE_SEED_BATCH (prior calls per
// seeding transaction, 100000), SCALE_SEED_TIMING=1 (seeding's steps timed on stderr).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatabase, postgresInstalled, startPostgres } from '../test/postgres-server.ts';
import { printTable, saveResults } from './lib/stats.ts';

const here = join(dirname(fileURLToPath(import.meta.url)), '..');
const sizes = process.env.SCALE_SIZES ?? '0,100000,1000000';
const databases = (process.env.SCALE_DATABASES ?? 'pglite,postgres')
  .split(',')
  .filter((d) => d !== 'postgres' || postgresInstalled());
const versions = (process.env.SCALE_VERSIONS ?? 'baseline,change').split(',');
const baselineCommit = process.env.BASELINE_COMMIT ?? '861568f';

function extractBaseline(): string {
  const dir = mkdtempSync(join(tmpdir(), 'citepay-baseline-'));
  execFileSync('bash', ['-c', `git -C "${here}" archive ${baselineCommit} | tar -x -C "${dir}"`]);
  symlinkSync(join(here, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

function runSide(root: string, label: string, env: Record<string, string>): Promise<any> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'bench/lib/scale-run.ts')], {
    cwd: root,
    env: { ...process.env, SCALE_ROOT: root, SCALE_SIZES: sizes, SCALE_LABEL: label, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('SCALE_RESULT '));
      if (code !== 0 || !line) reject(new Error(`${label} exited with ${code}`));
      else resolve(JSON.parse(line.slice('SCALE_RESULT '.length)));
    }),
  );
}

const baselineDir = versions.includes('baseline') ? extractBaseline() : null;
const pg = databases.includes('postgres') ? await startPostgres() : null;
const sides: { version: string; database: string; commit: string; result: any }[] = [];
try {
  for (const database of databases)
    for (const version of versions) {
      const root = version === 'baseline' ? baselineDir! : here;
      const commit =
        version === 'baseline'
          ? baselineCommit
          : execFileSync('git', ['-C', here, 'rev-parse', '--short', 'HEAD']).toString().trim();
      const env: Record<string, string> =
        database === 'postgres' ? { DATABASE_URL: await createDatabase(pg!.url, 'citepay_scale') } : {};
      sides.push({ version, database, commit, result: await runSide(root, `${version} ${database}`, env) });
    }
} finally {
  await pg?.stop();
  if (baselineDir) rmSync(baselineDir, { recursive: true, force: true });
}

const rows: Record<string, string | number>[] = [];
for (const side of sides) {
  const empty = new Map<string, number>(
    side.result.results.filter((r: any) => r.history === 0).map((r: any) => [r.route, r.p50]),
  );
  for (const r of side.result.results)
    rows.push({
      database: side.database,
      version: side.version,
      route: r.route,
      history: r.history,
      p50_ms: r.p50,
      p99_ms: r.p99,
      'vs empty': empty.has(r.route) ? r.p50 / empty.get(r.route)! : NaN,
      statements: r.statements,
    });
}
printTable(
  `Cost per call against prior history (${sizes}), over HTTP; statements = SQL round trips per call (median)`,
  rows,
);
for (const s of sides)
  console.log(
    `  ${s.database} ${s.version}: ${s.result.chunks} chunks, ${s.result.documents} documents; seeding took ${s.result.seedSeconds.toFixed(1)} s`,
  );
console.log(
  `  results: ${saveResults('scale', {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
    sizes,
    sides,
    rows,
  })}`,
);
