#!/bin/sh
# fuzz_run.sh TARGET SEEDS WORK SECONDS [libFuzzer flags]: fuzz TARGET for
# SECONDS, starting from the seed corpus SEEDS. libFuzzer writes new inputs
# to its first corpus directory, so that is WORK/corpus (emptied first: every
# run starts from the seeds alone) and the checked-in corpus stays as it is;
# a crash, leak or timeout leaves its input in WORK and exits non-zero.
set -eu
target=$1 seeds=$2 work=$3 secs=$4
shift 4
rm -rf "$work"
mkdir -p "$work/corpus"
exec "$target" "$@" -max_total_time="$secs" -print_final_stats=1 \
  -artifact_prefix="$work/" "$work/corpus" "$seeds"
