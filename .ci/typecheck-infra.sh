#!/usr/bin/env bash
# Offline type-check of the infrastructure code: sst.config.ts, stacks/*.ts, sst-env.d.ts.
# Needs the npm registry once (to fill .sst/platform); never AWS credentials or GitHub.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# `sst install` normally downloads pulumi + bun from GitHub before doing anything.
# Neither is needed to generate types: skip that check and let npm fetch the platform deps.
export SST_SKIP_DEPENDENCY_CHECK=1 SST_NO_BUN=1 SST_TELEMETRY_DISABLED=1

# 1. Generate .sst/platform: SST's component sources + @pulumi/aws types + config.d.ts.
#    ~30 s cold, ~2 s warm (npm cache). With no registry, reuse an earlier install.
if ! node_modules/.bin/sst install --stage ci; then
  [[ -f .sst/platform/config.d.ts ]] || { echo "sst install failed and .sst/platform is missing" >&2; exit 1; }
  echo "warning: sst install failed; type-checking against the existing .sst/platform" >&2
fi

# 2. sst-env.d.ts is hand-written (sst dev/deploy would generate it): every linkable
#    component created in stacks/ must be declared there.
missing=0
for name in $(grep -ohE 'new sst\.(aws\.(Vpc|Bucket|Aurora|Postgres|Queue|Function|ApiGatewayV2)|cloudflare\.(Worker|Hyperdrive)|Secret)\("[A-Za-z0-9]+"' stacks/*.ts | grep -oE '"[A-Za-z0-9]+"'); do
  grep -q "^    ${name}: {" sst-env.d.ts || { echo "sst-env.d.ts: missing Resource ${name}" >&2; missing=1; }
done

# 3. Type-check. The SST platform ships .ts sources (not .d.ts), so they are checked too and
#    need SST's own options: Bundler resolution (its extensionless imports would silently
#    become `any` under NodeNext) and none of our extra strictness flags (stacks/tsconfig.json).
tsc=node_modules/.bin/tsc
status=0
"$tsc" --noEmit -p stacks/tsconfig.json --pretty false || status=1

# 4. Our own files must also pass the repo's full strictness. SST's sources fail these flags,
#    so keep only diagnostics (and their continuation lines) for our files.
if (( status == 0 )); then
  ours=$("$tsc" --noEmit -p stacks/tsconfig.json --pretty false \
    --noUncheckedIndexedAccess --noImplicitOverride --noUnusedLocals --verbatimModuleSyntax 2>&1 \
    | awk '/^[^ ]/ { keep = ($0 ~ /^(stacks\/|sst\.config\.ts|sst-env\.d\.ts)/) } keep' || true)
  if [[ -n "$ours" ]]; then echo "$ours" >&2; status=1; fi
fi

if (( status || missing )); then echo "typecheck-infra: FAILED" >&2; exit 1; fi
echo "typecheck-infra: OK"
