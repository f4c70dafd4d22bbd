import type { Account } from '../../../shared/store/accounts.ts';
import type { SessionListing } from '../../../shared/store/dashboard.ts';
import { Layout } from './layout.tsx';
import { when } from './parts.tsx';

export interface SessionsPageProps {
  csrf: string;
  account: Account;
  testmode?: boolean;
  /** this browser's session id */
  current: string;
  sessions: SessionListing[];
  notice: string | null;
}

const opener = (s: SessionListing) =>
  s.method === 'siwe'
    ? `wallet ${s.wallet ?? ''}`
    : `${s.livemode ? 'live' : 'test'} key ${s.keyName ? `“${s.keyName}” ` : ''}(${s.keyPrefix ?? s.keyId}…)`;

/** Every open session of the account, with what opened it; each can be ended, or all at once. */
export const SessionsPage = (p: SessionsPageProps) => (
  <Layout title="Sessions" csrf={p.csrf} account={p.account} testmode={p.testmode}>
    {p.notice ? (
      <p class="flash" role="status">
        {p.notice}
      </p>
    ) : null}
    <p class="note">
      Each sign-in opens a session. A session opened with an API key ends when that key is revoked; a wallet's ends when
      the account is disabled. End any you do not recognise, or all of them.
    </p>
    <div class="table-wrap" tabindex={0} role="region" aria-label="table (scrolls sideways on small screens)">
      <table>
        <thead>
          <tr>
            <th scope="col">Signed in with</th>
            <th scope="col">Signed in</th>
            <th scope="col" class="hide-sm">
              Expires
            </th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {p.sessions.map((s) => (
            <tr data-session-row={s.id}>
              <td>
                {opener(s)}
                {s.id === p.current ? <strong> (this browser)</strong> : null}
              </td>
              <td>{when(s.createdAt)}</td>
              <td class="hide-sm">{when(s.expiresAt)}</td>
              <td>
                <form method="post" action={`/dashboard/sessions/${s.id}/end`}>
                  <input type="hidden" name="_csrf" value={p.csrf} />
                  <button type="submit" class="secondary" aria-label={`End the session signed in ${when(s.createdAt)}`}>
                    End
                  </button>
                </form>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
    <form method="post" action="/dashboard/sessions/end-all" class="panel">
      <input type="hidden" name="_csrf" value={p.csrf} />
      <button type="submit" class="danger">
        Sign out everywhere
      </button>
      <span class="note"> Ends every session of this account, this one included.</span>
    </form>
  </Layout>
);
