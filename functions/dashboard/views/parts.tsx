import type { Child } from 'hono/jsx';

// Small server-rendered pieces shared by the pages: money, dates, an SVG bar chart with its
// data table, sortable column headers and a pager.

/** Exact micro-units as dollars: 1234567n → "$1.234567". */
export function usd(micros: bigint | null | undefined): string {
  if (micros === null || micros === undefined) return '—';
  const neg = micros < 0n;
  const v = neg ? -micros : micros;
  return `${neg ? '−' : ''}$${(v / 1_000_000n).toLocaleString('en-US')}.${(v % 1_000_000n).toString().padStart(6, '0')}`;
}

/** Dollars on the page; the exact micro-amount on hover (title) and in data-micros (tests, scripts). */
export const Money = (p: { micros: bigint | null | undefined; field?: string }) => (
  <span
    class="money"
    data-field={p.field}
    data-micros={p.micros?.toString() ?? ''}
    title={p.micros === null || p.micros === undefined ? undefined : `${p.micros} micro-USD`}
  >
    {usd(p.micros)}
  </span>
);

/** "1 hash", "3 hashes". */
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * A passage as a label: Markdown heading marks and runs of whitespace dropped, cut at a word
 * boundary (never mid-word) with an ellipsis.
 */
export function passageLabel(text: string, max = 90): string {
  const flat = text
    .replace(/^[ \t]*#{1,6}[ \t]+/gm, '')
    .replace(/\s+/g, ' ')
    .trim();
  if (flat.length <= max) return flat;
  const cut = flat.slice(0, max + 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > max / 2 ? cut.slice(0, space) : flat.slice(0, max)).replace(/[\s,;:.–-]+$/, '')}…`;
}

export const when = (d: Date | null | undefined) => (d ? d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : '—');

export const short = (hex: string | null | undefined, n = 10) =>
  hex ? (hex.length > n * 2 ? `${hex.slice(0, n)}…${hex.slice(-6)}` : hex) : '—';

export const Card = (p: { label: string; children: Child; note?: string }) => (
  <div class="card">
    <div class="card-label">{p.label}</div>
    <div class="card-value">{p.children}</div>
    {p.note ? <div class="card-note">{p.note}</div> : null}
  </div>
);

/** Bars per day, drawn on the server (no script), with the same numbers as a table for screen readers. */
export function DayChart(p: { id: string; title: string; days: { day: string; amount: bigint; calls: number }[] }) {
  const W = 720,
    H = 160,
    pad = 4,
    SLOTS = 30;
  const max = p.days.reduce((m, d) => (d.amount > m ? d.amount : m), 0n);
  const bw = (W - pad * 2) / SLOTS;
  // One slot per day of the last 30 (UTC), so a bar's place is its date.
  const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
  const slot = (day: string) => SLOTS - 1 - Math.round((today - Date.parse(`${day}T00:00:00Z`)) / 86_400_000);
  const first = new Date(today - (SLOTS - 1) * 86_400_000).toISOString().slice(0, 10);
  const last = new Date(today).toISOString().slice(0, 10);
  return (
    <figure class="chart" aria-labelledby={`${p.id}-title`}>
      <figcaption id={`${p.id}-title`}>{p.title}</figcaption>
      {p.days.length === 0 ? (
        <p class="empty">Nothing in the last 30 days.</p>
      ) : (
        <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={`${p.id}-title`} preserveAspectRatio="none">
          <title>{p.title}</title>
          <line x1={pad} y1={H - pad} x2={W - pad} y2={H - pad} class="axis" />
          {p.days.map((d) => {
            const i = Math.min(Math.max(slot(d.day), 0), SLOTS - 1);
            const h = max === 0n ? 0 : (Number((d.amount * 1000n) / max) / 1000) * (H - pad * 2);
            return (
              <rect x={pad + i * bw + 1} y={H - pad - h} width={Math.max(bw - 2, 1)} height={h} class="bar">
                <title>{`${d.day}: ${usd(d.amount)} over ${d.calls} calls`}</title>
              </rect>
            );
          })}
        </svg>
      )}
      {p.days.length ? (
        <div class="ticks" aria-hidden="true">
          <span>{first}</span>
          <span>tallest bar {usd(max)}</span>
          <span>{last}</span>
        </div>
      ) : null}
      {p.days.length ? (
        <details>
          <summary>Data table</summary>
          <table>
            <thead>
              <tr>
                <th scope="col">Day (UTC)</th>
                <th scope="col" class="num">
                  Calls
                </th>
                <th scope="col" class="num">
                  Amount
                </th>
              </tr>
            </thead>
            <tbody>
              {p.days.map((d) => (
                <tr>
                  <td>{d.day}</td>
                  <td class="num">{d.calls}</td>
                  <td class="num">
                    <Money micros={d.amount} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      ) : null}
    </figure>
  );
}

export function Pager(p: { page: number; pages: number; href: (page: number) => string; label: string }) {
  if (p.pages <= 1) return null;
  return (
    <nav class="pager" aria-label={p.label}>
      {p.page > 1 ? (
        <a href={p.href(p.page - 1)} rel="prev">
          ← Previous
        </a>
      ) : (
        <span aria-hidden="true">← Previous</span>
      )}
      <span>
        Page {p.page} of {p.pages}
      </span>
      {p.page < p.pages ? (
        <a href={p.href(p.page + 1)} rel="next">
          Next →
        </a>
      ) : (
        <span aria-hidden="true">Next →</span>
      )}
    </nav>
  );
}

export function SortHeader(p: {
  label: string;
  sort: string;
  current: string;
  href: (sort: string) => string;
  num?: boolean;
}) {
  const active = p.sort === p.current;
  return (
    <th
      scope="col"
      class={p.num ? 'num' : undefined}
      aria-sort={active ? (p.sort === 'name' ? 'ascending' : 'descending') : undefined}
    >
      <a href={p.href(p.sort)}>
        {p.label}
        {active ? (p.sort === 'name' ? ' ▲' : ' ▼') : ''}
      </a>
    </th>
  );
}

export const Hidden = (p: { name: string; value: string }) => <input type="hidden" name={p.name} value={p.value} />;

/** The site icon, served at /favicon.ico and /dashboard/assets/favicon.svg (a "c" on the accent blue). */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#0b57d0"/><path d="M21.5 11.2a7 7 0 1 0 0 9.6" fill="none" stroke="#fff" stroke-width="3.4" stroke-linecap="round"/></svg>`;
