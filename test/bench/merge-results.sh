#!/usr/bin/env bash
# Builds test/bench/RESULTS.md from the per-area result files.
cd "$(dirname "$0")/../.."
{
  echo "# Benchmark results"
  echo
  echo "Every figure comes from the \`npm run bench:*\` script named beside it, which prints \`BENCH <name> <value> <unit>\` lines."
  echo "Machine: 2 cores, 24 GiB, Debian bookworm, Node 20.20.2."
  echo
  echo "**2026-11-26:** most figures in the per-area sections were measured while up to eleven engineers were building and"
  echo "testing on the same 2-core machine (load average 15–80). They are lower bounds, not the project's speed; the"
  echo "per-area notes say how much runs varied. The first five sections hold the figures re-measured on a quiet machine"
  echo "at the end of the fifth, fourth, third, second and first session."
  echo
  for f in QUIET-5 QUIET-4 QUIET-3 QUIET-2 QUIET foundation store transport raft s3db auth gateway s3 multipart heal rebalance lambda; do
    p=test/bench/results/$f.md
    [ -f "$p" ] || continue
    echo
    sed 's/^# /## /; s/^## \(.*\)$/### \1/' "$p" | awk 'NR==1{sub(/^### /,"## ")}1'
  done
} > test/bench/RESULTS.md
