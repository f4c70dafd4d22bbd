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
    address,
    chainId: nonce.chainId,
    domain: nonce.domain,
    nonce: nonce.nonce,
    uri: nonce.uri,
    version: '1',
    issuedAt: new Date(),
    statement: 'Sign in to the citepay dashboard.',
  });
  say(status, 'Signing…');
  const signature = await sign(message);
  const res = await fetch('/dashboard/sign-in/siwe', {
    method: 'POST',
    credentials: 'same-origin',
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
    signIn(status, account.address, (message) => account.signMessage({ message })).catch((e) =>
      say(status, String(e.message ?? e), false),
    );
  });
  const ext = $('#browser-wallet');
  if (ext) {
    ext.hidden = !window.ethereum;
    ext.addEventListener('click', async () => {
      try {
        const [address] = await window.ethereum.request({ method: 'eth_requestAccounts' });
        await signIn(status, address, (message) =>
          window.ethereum.request({ method: 'personal_sign', params: [message, address] }),
        );
      } catch (e) {
        say(status, String(e.message ?? e), false);
      }
    });
  }
}

// OpenZeppelin StandardMerkleTree: leaf = keccak256(keccak256(abi.encode(values))), pairs hashed sorted.
const leafOf = (types, values) =>
  keccak256(
    keccak256(
      encodeAbiParameters(
        types.map((type) => ({ type })),
        values,
      ),
    ),
  );
function rootFrom(leaf, proof) {
  return proof.reduce((node, sibling) => {
    const [a, b] = BigInt(node) < BigInt(sibling) ? [node, sibling] : [sibling, node];
    return keccak256(concat([a, b]));
  }, leaf);
}

function verify(el) {
  const d = el.dataset;
  const proof = JSON.parse(d.proof);
  const leaf =
    d.kind === 'payout'
      ? leafOf(['address', 'uint256'], [d.wallet, BigInt(d.cumulative)])
      : leafOf(['bytes32'], [keccak256(toBytes($(`#${d.canonical}`).textContent))]);
  const root = rootFrom(leaf, proof);
  const ok = root.toLowerCase() === d.chainRoot.toLowerCase();
  say(
    $(`#${d.result}`),
    ok
      ? `Valid: the proof leads to ${root}, the root on chain.`
      : `INVALID: the proof leads to ${root}, not the root on chain ${d.chainRoot}.`,
    ok,
  );
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

/** One file per request, so each shows its own progress and result; the form still works without this. */
function uploadOne(form, file, item) {
  const bar = document.createElement('progress');
  bar.max = 100;
  bar.value = 0;
  bar.setAttribute('aria-label', `Upload of ${file.name}`);
  const text = document.createElement('span');
  text.textContent = ` ${file.name}: uploading…`;
  item.append(bar, text);
  return new Promise((resolve) => {
    const body = new FormData();
    body.set('_csrf', csrf());
    body.set('file', file);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', form.action);
    xhr.setRequestHeader('accept', 'application/json');
    xhr.upload.addEventListener('progress', (e) => {
      if (!e.lengthComputable) return;
      bar.value = Math.round((e.loaded / e.total) * 100);
      if (e.loaded === e.total) text.textContent = ` ${file.name}: indexing (chunking and embedding)…`;
    });
    xhr.addEventListener('load', () => {
      bar.value = 100;
      let body = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch {}
      const ok = xhr.status === 200 || xhr.status === 201;
      item.dataset.state = ok ? (body.duplicate ? 'duplicate' : 'indexed') : 'refused';
      text.textContent = ok
        ? ` ${file.name}: ${body.duplicate ? 'already in this datanet (same content)' : `indexed, ${body.document.chunkCount} passage${body.document.chunkCount === 1 ? '' : 's'}`}`
        : ` ${file.name}: refused: ${body.error?.message ?? `HTTP ${xhr.status}`}`;
      text.className = ok ? 'status-indexed' : 'status-failed';
      resolve(ok);
    });
    xhr.addEventListener('error', () => {
      item.dataset.state = 'refused';
      text.textContent = ` ${file.name}: the upload failed (network)`;
      text.className = 'status-failed';
      resolve(false);
    });
    xhr.send(body);
  });
}

function wireUploads() {
  const form = $('form[data-upload]');
  if (!form) return;
  const list = $('#upload-progress', form);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const input = $('input[type=file]', form);
    const files = [...input.files];
    if (!files.length) return;
    const button = $('button[type=submit]', form);
    button.disabled = true;
    list.replaceChildren();
    const items = files.map(() => list.appendChild(document.createElement('li')));
    // Two at a time: progress stays visible per file without flooding the server.
    let next = 0;
    const worker = async () => {
      while (next < files.length) {
        const i = next++;
        await uploadOne(form, files[i], items[i]);
      }
    };
    await Promise.all([worker(), worker()]);
    button.disabled = false;
    input.value = '';
    const done = document.createElement('li');
    const link = document.createElement('a');
    link.href = `${location.pathname}#documents`;
    link.textContent = 'Show the updated document list';
    link.id = 'uploads-done';
    link.addEventListener('click', (e) => {
      e.preventDefault();
      location.reload();
    });
    done.append(link);
    list.append(done);
  });
}

wireSignIn();
wireProofs();
wireUploads();
