import { Layout } from './layout.tsx';

export interface DevWallet {
  address: string;
  privateKey: string;
  label: string;
}

export const SignInPage = (p: {
  csrf: string;
  error?: string | undefined;
  notice?: string | undefined;
  devWallets: DevWallet[];
  chainId: number | null;
}) => (
  <Layout title="Sign in" csrf={p.csrf} script>
    {p.error ? (
      <p class="flash error" role="alert">
        {p.error}
      </p>
    ) : null}
    {p.notice ? (
      <p class="flash" role="status">
        {p.notice}
      </p>
    ) : null}
    <div class="panels">
      <section class="panel" aria-labelledby="key-h">
        <h2 id="key-h">With an API key</h2>
        <p class="note">
          For consumers and contributors. The key is checked once and exchanged for a session cookie; the browser never
          keeps it.
        </p>
        <form method="post" action="/dashboard/sign-in/key">
          <input type="hidden" name="_csrf" value={p.csrf} />
          <label for="api-key">API key</label>
          <input id="api-key" name="key" type="password" autocomplete="off" required placeholder="cp_live_…" />
          <button type="submit">Sign in with key</button>
        </form>
      </section>
      <section class="panel" aria-labelledby="eth-h">
        <h2 id="eth-h">With your wallet</h2>
        <p class="note">
          Data owners: Sign-In with Ethereum (EIP-4361). You sign a message with a one-time nonce from this server;
          nothing is sent on chain.
        </p>
        <noscript>
          <p>Signing with a wallet needs JavaScript; the API key form works without it.</p>
        </noscript>
        <button type="button" id="browser-wallet" hidden>
          Sign in with browser wallet
        </button>
        {p.devWallets.length ? (
          <form id="dev-wallet-form">
            <label for="dev-wallet">Development wallet (local chain {p.chainId})</label>
            <select id="dev-wallet" name="wallet">
              {p.devWallets.map((w) => (
                <option value={w.address} data-key={w.privateKey}>
                  {w.label}
                </option>
              ))}
            </select>
            <p class="note">
              Public anvil development keys, offered only because this server settles on a local development chain. The
              browser signs; the server checks the signature like any other.
            </p>
            <button type="submit" class="secondary">
              Sign in with development wallet
            </button>
          </form>
        ) : null}
        <p id="siwe-status" class="result" role="status" aria-live="polite"></p>
      </section>
    </div>
  </Layout>
);
