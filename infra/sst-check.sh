#!/bin/sh
# `npm run sst:check`: type-checks sst.config.ts and infra/sst/*.ts against SST's platform types,
# offline from AWS (no credentials, nothing deployed). The first run unpacks the platform and the
# AWS provider's types into .sst/ (npm registry only; several minutes), later runs reuse them.
set -eu
cd "$(dirname "$0")/.."
export SST_SKIP_DEPENDENCY_CHECK=true SST_TELEMETRY_DISABLED=1 SST_NO_BUN=1 SST_STAGE="${SST_STAGE:-check}"
if [ ! -f .sst/platform/config.d.ts ] || [ ! -d .sst/platform/node_modules/@pulumi/aws ]; then
  npx sst install
fi
# SST's platform sources are compiled along (they are .ts); errors inside .sst/ are SST's own
# (e.g. under TypeScript 5.9) and do not count. Every other error fails the check.
out=$(npx tsc -p infra/sst/tsconfig.json --pretty false 2>&1 || true)
ours=$(printf '%s\n' "$out" | grep -E '^[^ ].*error TS' | grep -v '^\.sst/' || true)
if [ -n "$ours" ]; then
  printf '%s\n' "$out" | grep -v '^\.sst/'
  exit 1
fi
echo "sst:check: sst.config.ts and infra/sst type-check against the SST platform types"
