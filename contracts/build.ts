// npm run build:contracts
// Compiles contracts/ with the npm-shipped solc-js (no compiler download) and writes typed
// artifacts to contracts/artifacts/*.ts (`export const …Abi = [...] as const`) so viem infers
// types. The artifacts are committed; shared/chain/artifacts.test.ts recompiles and fails if
// they drifted from the sources.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import solc from 'solc';

const require = createRequire(import.meta.url);
const CONTRACTS_DIR = dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS_DIR = join(CONTRACTS_DIR, 'artifacts');

/** Every compiled contract: where its source lies under contracts/ and the prefix of its exports. */
export const CONTRACTS = [
  { source: 'src/CitepayDistributor.sol', name: 'CitepayDistributor', exportPrefix: 'citepayDistributor' },
  { source: 'src/TestUSD.sol', name: 'TestUSD', exportPrefix: 'testUsd' },
  { source: 'test/MockToken.sol', name: 'MockToken', exportPrefix: 'mockToken' },
  { source: 'bench/BatchTransfer.sol', name: 'BatchTransfer', exportPrefix: 'batchTransfer' },
  // x402 `upto` on the local chain (shared/chain/x402-contracts.ts places them at their canonical
  // addresses): Uniswap's Permit2 and x402's upto proxy, vendored unchanged (see contracts/vendor/).
  // Permit2's canonical build uses the IR pipeline (without it: "stack too deep"), so they compile apart.
  { source: 'vendor/permit2/src/Permit2.sol', name: 'Permit2', exportPrefix: 'permit2', viaIR: true },
  {
    source: 'vendor/x402/x402UptoPermit2Proxy.sol',
    name: 'x402UptoPermit2Proxy',
    exportPrefix: 'x402UptoPermit2Proxy',
    viaIR: true,
  },
  // x402 `batch-settlement` (one deposit, cumulative vouchers, one claim for many calls): x402's
  // channel contract and its Permit2 / EIP-3009 deposit collectors, vendored unchanged (see
  // contracts/vendor/x402/ORIGIN.md) and placed at @x402/evm's addresses by shared/chain/x402-batch-contracts.ts.
  { source: 'vendor/x402/x402BatchSettlement.sol', name: 'x402BatchSettlement', exportPrefix: 'x402BatchSettlement' },
  {
    source: 'vendor/x402/periphery/Permit2DepositCollector.sol',
    name: 'Permit2DepositCollector',
    exportPrefix: 'permit2DepositCollector',
  },
  // the batch-settlement facilitator reads channel state through Multicall3 (contracts/vendor/multicall3/ORIGIN.md)
  { source: 'vendor/multicall3/src/Multicall3.sol', name: 'Multicall3', exportPrefix: 'multicall3' },
  {
    source: 'vendor/x402/periphery/ERC3009DepositCollector.sol',
    name: 'ERC3009DepositCollector',
    exportPrefix: 'erc3009DepositCollector',
  },
] as const;

// Permit2 pins `pragma solidity 0.8.17` (its canonical build), Multicall3 `0.8.12`; the installed
// solc-js is newer and compiles them unchanged, so the pin is relaxed to `^0.8.x` as the sources
// are read (the files on disk stay byte-identical to upstream). Permit2 imports solmate's ERC20 and
// SafeTransferLib (AGPL-3.0); both paths are remapped to MIT stand-ins on OpenZeppelin in
// src/permit2-compat/.
const relaxPinnedPragma = (source: string) =>
  source.replace(/^pragma solidity 0\.8\.(12|17);/m, 'pragma solidity ^0.8.$1;');
const REMAPPINGS = [
  'solmate/src/tokens/ERC20.sol=src/permit2-compat/ERC20.sol',
  'solmate/src/utils/SafeTransferLib.sol=src/permit2-compat/SafeTransferLib.sol',
];

// cancun: transient storage for ReentrancyGuardTransient; anvil's default (OP-Stack) hardfork is later.
export const COMPILER_SETTINGS = { optimizer: { enabled: true, runs: 10_000 }, evmVersion: 'cancun' } as const;

interface SolcOutput {
  errors?: { severity: 'error' | 'warning' | 'info'; formattedMessage: string }[];
  contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string } } }>>;
}

function findImport(path: string): { contents: string } | { error: string } {
  try {
    const file = path.startsWith('@') ? require.resolve(path) : join(CONTRACTS_DIR, path);
    return { contents: relaxPinnedPragma(readFileSync(file, 'utf8')) };
  } catch (err) {
    return { error: `cannot resolve ${path}: ${(err as Error).message}` };
  }
}

/** Compiles every contract; returns `{ abi, bytecode }` by contract name. Throws on compiler errors. */
export function compileContracts(): Record<string, { abi: unknown[]; bytecode: string }> {
  const viaIR = (c: (typeof CONTRACTS)[number]) => 'viaIR' in c && c.viaIR;
  return {
    ...compileGroup(
      CONTRACTS.filter((c) => !viaIR(c)),
      false,
    ),
    ...compileGroup(CONTRACTS.filter(viaIR), true),
  };
}

function compileGroup(
  contracts: readonly (typeof CONTRACTS)[number][],
  viaIR: boolean,
): Record<string, { abi: unknown[]; bytecode: string }> {
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(
      contracts.map((c) => [
        c.source,
        { content: relaxPinnedPragma(readFileSync(join(CONTRACTS_DIR, c.source), 'utf8')) },
      ]),
    ),
    settings: {
      ...COMPILER_SETTINGS,
      ...(viaIR ? { viaIR: true, remappings: REMAPPINGS } : {}),
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport })) as SolcOutput;
  const problems = output.errors ?? [];
  const errors = problems.filter((e) => e.severity === 'error');
  if (errors.length > 0) throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage).join('\n')}`);
  // OpenZeppelin's own warnings (e.g. "transient storage can break composability", which its
  // docs note is safe for a reentrancy guard) and the vendored sources' are known; ours are printed.
  const ours = problems.filter(
    (e) =>
      e.severity === 'warning' &&
      !e.formattedMessage.includes('--> @openzeppelin/') &&
      !e.formattedMessage.includes('--> vendor/'),
  );
  for (const w of ours) console.warn(w.formattedMessage);
  return Object.fromEntries(
    contracts.map((c) => {
      const out = output.contracts[c.source]?.[c.name];
      if (!out) throw new Error(`solc produced no output for ${c.source}:${c.name}`);
      return [c.name, { abi: out.abi, bytecode: `0x${out.evm.bytecode.object}` }];
    }),
  );
}

/** The artifact files' contents by file name (e.g. `CitepayDistributor.ts`). */
export function renderArtifacts(): Record<string, string> {
  const compiled = compileContracts();
  return Object.fromEntries(
    CONTRACTS.map((c) => {
      const { abi, bytecode } = compiled[c.name]!;
      const text = [
        `// Generated by contracts/build.ts from contracts/${c.source} — do not edit; run \`npm run build:contracts\`.`,
        `// solc ${solc.version()}, optimizer ${COMPILER_SETTINGS.optimizer.runs} runs, evm ${COMPILER_SETTINGS.evmVersion}.`,
        `export const ${c.exportPrefix}Abi = ${JSON.stringify(abi, null, 2)} as const;`,
        '',
        `export const ${c.exportPrefix}Bytecode = '${bytecode}' as const;`,
        '',
      ].join('\n');
      return [`${c.name}.ts`, text];
    }),
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const [file, text] of Object.entries(renderArtifacts())) {
    writeFileSync(join(ARTIFACTS_DIR, file), text);
    console.log(`wrote contracts/artifacts/${file}`);
  }
}
