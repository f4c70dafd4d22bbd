import type { Child } from 'hono/jsx';
import type { Account } from '../../../shared/store/accounts.ts';

export interface LayoutProps {
  title: string;
  csrf: string;
  account?: Account | null;
  /** the session is a cp_test_ key's: say so on every page */
  testmode?: boolean;
  /** the page needs the script (sign-in, proofs) */
  script?: boolean;
  children: Child;
}

export const Layout = (p: LayoutProps) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="csrf-token" content={p.csrf} />
      <title>{`${p.title} · citepay`}</title>
      <link rel="stylesheet" href="/dashboard/assets/dashboard.css" />
      <link rel="icon" href="/dashboard/assets/favicon.svg" type="image/svg+xml" />
      {p.script ? <script type="module" src="/dashboard/assets/dashboard.js" /> : null}
    </head>
    <body>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/dashboard">
          citepay
        </a>
        {p.account ? (
          <nav aria-label="Account">
            <span class="who">
              {p.account.name} <span class="muted">({p.account.kind})</span>
            </span>
            <a href="/dashboard/sessions">Sessions</a>
            <form method="post" action="/dashboard/sign-out" class="inline">
              <input type="hidden" name="_csrf" value={p.csrf} />
              <button type="submit" class="link">
                Sign out
              </button>
            </form>
          </nav>
        ) : null}
      </header>
      <main id="main">
        <h1>{p.title}</h1>
        {p.testmode ? (
          <p class="flash" role="note">
            <strong>Test mode:</strong> signed in with a cp_test_ key, these are test credits and test calls; no live
            money is shown.
          </p>
        ) : null}
        {p.children}
      </main>
    </body>
  </html>
);
