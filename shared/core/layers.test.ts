import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The layers: route (functions/) → service (shared/services/) → store (shared/store/, the only home
// of SQL) or port adapter → pure core. Two rules keep them apart and are checked here on the source:
// SQL appears only in the store, the database plumbing and the pgvector adapter; functions/ imports
// store modules for their types only (values go through a service).

const repo = join(import.meta.dirname, '..', '..');

/** Where SQL may be written: the store, migrations and the drivers/locks of shared/db, the pgvector adapter. */
const SQL_HOMES = [/^shared\/store\//, /^shared\/db\//, /^shared\/vector-index\/pgvector\.ts$/];

/** Statement openings, written the way this code base writes SQL (upper-case keywords). */
const SQL_STATEMENT = new RegExp(
  [
    String.raw`SELECT\b[\s\S]*?\b(?:FROM|AS|WHERE)\b`,
    String.raw`SELECT\s+\S+::`,
    String.raw`INSERT\s+INTO\b`,
    String.raw`UPDATE\s+\w+(?:\s+\w+)?\s+SET\b`,
    String.raw`DELETE\s+FROM\b`,
    String.raw`WITH\s+(?:RECURSIVE\s+)?\w+\s+AS\s*\(`,
    String.raw`(?:CREATE|ALTER|DROP)\s+(?:OR\s+REPLACE\s+)?(?:TABLE|INDEX|UNIQUE|EXTENSION|SCHEMA|TRIGGER|FUNCTION|VIEW|SEQUENCE|TYPE|DATABASE)\b`,
    String.raw`LOCK\s+TABLE\b`,
    String.raw`TRUNCATE\b`,
    String.raw`SET\s+(?:LOCAL\s+|SESSION\s+)?(?:TRANSACTION\b|[\w.]+\s*(?:=|\bTO\b))`,
    String.raw`(?:BEGIN|COMMIT|ROLLBACK)\b\s*(?:;|$|ISOLATION\b|TRANSACTION\b)`,
    String.raw`(?:ANALYZE|VACUUM|NOTIFY|LISTEN|UNLISTEN|SAVEPOINT)\b`,
    String.raw`RELEASE\s+SAVEPOINT\b`,
    String.raw`COPY\s+\w+`,
  ]
    .map((s) => `(?:${s})`)
    .join('|'),
);
const SQL_OPENING = new RegExp(String.raw`^\s*(?:${SQL_STATEMENT.source})`);
/** Any keyword a driver call's text could begin with: a `.query(`/`.exec(` on such a literal is SQL. */
const SQL_KEYWORD =
  /^\s*(?:SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|ALTER|DROP|LOCK|TRUNCATE|SET|BEGIN|COMMIT|ROLLBACK|ANALYZE|VACUUM|NOTIFY|LISTEN|UNLISTEN|SAVEPOINT|RELEASE|COPY|DO|EXPLAIN|REFRESH|GRANT|REVOKE)\b/;

const LITERAL = String.raw`\`((?:[^\`\\]|\\[\s\S])*)\`|'((?:[^'\\\n]|\\.)*)'|"((?:[^"\\\n]|\\.)*)"`;

/** The SQL a source file holds: `sql` tagged templates, literals passed to `.query(`/`.exec(`, and any string literal that opens like a statement. */
function sqlIn(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/\bsql\s*`((?:[^`\\]|\\[\s\S])*)`/g)) found.push(m[1]!);
  const call = new RegExp(String.raw`\.(?:query|exec)\s*(?:<[^()]*?>)?\(\s*(?:${LITERAL})`, 'g');
  for (const m of source.matchAll(call)) {
    const text = m[1] ?? m[2] ?? m[3] ?? '';
    if (SQL_KEYWORD.test(text)) found.push(text);
  }
  for (const m of source.matchAll(new RegExp(LITERAL, 'g'))) {
    const text = m[1] ?? m[2] ?? m[3] ?? '';
    if (SQL_OPENING.test(text) && !found.includes(text)) found.push(text);
  }
  return found;
}

/** The store modules a file imports or re-exports values from (type-only imports and names are fine). */
function storeValueImports(source: string): string[] {
  const statement = /^[ \t]*(?:import|export)\s+(type\s+)?([^;'"]*?)\s*from\s*['"]([^'"]*\bstore\/[^'"]+)['"]/gm;
  const found: string[] = [];
  for (const m of source.matchAll(statement)) {
    if (m[1]) continue;
    const clause = m[2]!;
    const named = /\{([^}]*)\}/.exec(clause);
    const outside = clause
      .replace(/\{[^}]*\}/, '')
      .replace(/,/g, ' ')
      .trim(); // default or `* as x`
    const values = (named?.[1] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s && !s.startsWith('type '));
    if (outside || values.length) found.push(m[3]!);
  }
  for (const m of source.matchAll(/\bimport\(\s*['"]([^'"]*\bstore\/[^'"]+)['"]\s*\)/g)) found.push(m[1]!);
  for (const m of source.matchAll(/^[ \t]*import\s*['"]([^'"]*\bstore\/[^'"]+)['"]/gm)) found.push(m[1]!);
  return found;
}

function sourceFiles(dir: string): string[] {
  return (readdirSync(join(repo, dir), { recursive: true }) as string[])
    .filter((f) => /\.tsx?$/.test(f) && !f.includes('node_modules'))
    .map((f) => `${dir}/${f.replaceAll('\\', '/')}`);
}

describe('the SQL detector', () => {
  it('finds SQL however it is passed', () => {
    const sample = [
      'await db.query(`SELECT id FROM accounts WHERE id = $1`, [id]);',
      "await tx.exec('SET LOCAL hnsw.ef_search = 40');",
      'const STALE = `\n  UPDATE answers a SET status = $1 WHERE id = $2`;',
      'await db.query<{ n: bigint }>(\n  "DELETE FROM receipts WHERE epoch IS NULL");',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: sample source text, not a template
      'const q = sql`INSERT INTO ledger_entries (id) VALUES (${id})`;',
      "await tx.query('LOCK TABLE receipts IN EXCLUSIVE MODE');",
      'await db.exec(`CREATE INDEX chunks_doc ON chunks (document_id)`);',
      "await db.query('SELECT pg_advisory_xact_lock($1) AS locked', [k]);",
    ].join('\n');
    expect(sqlIn(sample)).toHaveLength(8);
  });

  it('leaves prose, regular expressions and HTTP query strings alone', () => {
    const sample = [
      'const m = /^(\\d+)$/.exec(item);',
      "const code = c.req.query('notice');",
      "throw new InvalidInput('Select a datanet from the list');",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: sample source text, not a template
      'log.info(`update settings for ${id}`);',
      "const label = 'Delete from this datanet';",
    ].join('\n');
    expect(sqlIn(sample)).toEqual([]);
  });
});

describe('the store import detector', () => {
  it('flags value imports, one line or many, and re-exports', () => {
    const sample = [
      "import { balanceOf } from '../../shared/store/ledger.ts';",
      "import {\n  cursorToString,\n  type FunnelLevel,\n} from '../../shared/store/dashboard.ts';",
      "export { listEpochs } from '../../shared/store/settlement.ts';",
      "import * as store from '../../shared/store/accounts.ts';",
      "const m = await import('../../shared/store/answers.ts');",
    ].join('\n');
    expect(storeValueImports(sample)).toEqual([
      '../../shared/store/ledger.ts',
      '../../shared/store/dashboard.ts',
      '../../shared/store/settlement.ts',
      '../../shared/store/accounts.ts',
      '../../shared/store/answers.ts',
    ]);
  });

  it('lets type-only imports through', () => {
    const sample = [
      "import type { Account } from '../../shared/store/accounts.ts';",
      "import { type FunnelLevel, type FunnelSort } from '../../shared/store/dashboard.ts';",
      "import { balanceOf } from '../../shared/services/accounts.ts';",
    ].join('\n');
    expect(storeValueImports(sample)).toEqual([]);
  });
});

describe('layers', () => {
  it('SQL lives only in shared/store, shared/db and the pgvector adapter', () => {
    const files = [...sourceFiles('shared'), ...sourceFiles('functions'), ...sourceFiles('gpu-worker')].filter(
      (f) => !/\.test\.tsx?$/.test(f) && !SQL_HOMES.some((home) => home.test(f)),
    );
    expect(files.length).toBeGreaterThan(100);
    const offenders = files.flatMap((f) =>
      sqlIn(readFileSync(join(repo, f), 'utf8')).map((s) => `${f}: ${s.trim().slice(0, 60)}`),
    );
    expect(offenders).toEqual([]);
  });

  it('the detector sees the SQL where it does live', () => {
    // If the detector stopped matching this code base's style, the rule above would pass vacuously.
    const store = sourceFiles('shared/store').filter((f) => !f.endsWith('.test.ts'));
    const withSql = store.filter((f) => sqlIn(readFileSync(join(repo, f), 'utf8')).length > 0);
    expect(withSql.length).toBeGreaterThanOrEqual(store.length - 2);
  });

  it('functions/ imports store modules for types only', () => {
    const offenders = sourceFiles('functions').flatMap((f) =>
      storeValueImports(readFileSync(join(repo, f), 'utf8')).map((s) => `${f} → ${s}`),
    );
    expect(offenders).toEqual([]);
  });
});
