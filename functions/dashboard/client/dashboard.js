// The dashboard's only script (bundled from npm packages by esbuild and served by the app, never a CDN):
// Sign-In with Ethereum (a browser wallet, or a public anvil development key on a local chain),
// and Merkle proof checks done here in the browser. Everything else works without JavaScript.
import { concat, encodeAbiParameters, keccak256, toBytes } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { createSiweMessage } from 'viem/siwe';

const $ = (sel, root = document) => root.querySelector(sel);
const csrf = () => $('meta[name="csrf-token"]')?.getAttribute('content') ?? '';

function say(el, text, ok) {
  el.textContent = text;
  el.dataset.state = ok === undefined ? '' : ok ? 'valid' : 'invalid';
}

async function signIn(status, address, sign) {
  say(status, 'Asking the server for a nonce…');
  const res0 = await fetch('/dashboard/sign-in/nonce', { credentials: 'same-origin' });
  const nonce = await res0.json().catch(() => ({}));
  if (!res0.ok) return say(status, nonce.error?.message ?? `sign-in is unavailable (${res0.status})`, false);
  // Domain, URI and chain come from the server's configuration (PUBLIC_URL, CHAIN_ID), as it will check them.
  const message = createSiweMessage({
    address, chainId: nonce.chainId, domain: nonce.domain, nonce: nonce.nonce, uri: nonce.uri, version: '1',
    issuedAt: new Date(), statement: 'Sign in to the citepay dashboard.',
  });
  say(status, 'Signing…');
  const signature = await sign(message);
  const res = await fetch('/dashboard/sign-in/siwe', {
    method: 'POST', credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-csrf-token': csrf() },
    body: JSON.stringify({ message, signature }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) return say(status, body.error?.message ?? `sign-in failed (${res.status})`, false);
  say(status, 'Signed in.', true);
  location.assign(body.next ?? '/dashboard');
}

function wireSignIn() {
  const status = $('#siwe-status');
  if (!status) return;
  const dev = $('#dev-wallet-form');
  dev?.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const option = $('#dev-wallet').selectedOptions[0];
    const account = privateKeyToAccount(option.dataset.key);
    signIn(status, account.address, (message) => account.signMessage({ message })).catch((e) => say(status, String(e.message ?? e), false));
  });
  const ext = $('#browser-wallet');
  if (ext) {
    ext.hidden = !window.ethereum;
    ext.addEventListener('click', async () => {
      try {
        const [address] = await window.ethereum.request({ method: 'eth_requestAccounts' });
        await signIn(status, address, (message) => window.ethereum.request({ method: 'personal_sign', params: [message, address] }));
      } catch (e) {
        say(status, String(e.message ?? e), false);
      }
    });
  }
}

// OpenZeppelin StandardMerkleTree: leaf = keccak256(keccak256(abi.encode(values))), pairs hashed sorted.
const leafOf = (types, values) => keccak256(keccak256(encodeAbiParameters(types.map((type) => ({ type })), values)));
function rootFrom(leaf, proof) {
  return proof.reduce((node, sibling) => {
    const [a, b] = BigInt(node) < BigInt(sibling) ? [node, sibling] : [sibling, node];
    return keccak256(concat([a, b]));
  }, leaf);
}

function verify(el) {
  const d = el.dataset;
  const proof = JSON.parse(d.proof);
  const leaf = d.kind === 'payout'
    ? leafOf(['address', 'uint256'], [d.wallet, BigInt(d.cumulative)])
    : leafOf(['bytes32'], [keccak256(toBytes($(`#${d.canonical}`).textContent))]);
  const root = rootFrom(leaf, proof);
  const ok = root.toLowerCase() === d.chainRoot.toLowerCase();
  say($(`#${d.result}`), ok ? `Valid: the proof leads to ${root}, the root on chain.` : `INVALID: the proof leads to ${root}, not the root on chain ${d.chainRoot}.`, ok);
}

function wireProofs() {
  for (const button of document.querySelectorAll('button[data-verify]')) {
    button.hidden = false;
    button.addEventListener('click', () => {
      try {
        verify(button);
      } catch (e) {
        say($(`#${button.dataset.result}`), `INVALID: ${e.message ?? e}`, false);
      }
    });
  }
}

wireSignIn();
wireProofs();
