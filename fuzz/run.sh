#!/usr/bin/env bash
# Runs every fuzz target for a while, seeded from testdata/ (see docs/reliability.md).
#   fuzz/run.sh [SECONDS_PER_TARGET] [JOBS]
# Needs cargo-fuzz and a nightly toolchain (or stable with RUSTC_BOOTSTRAP=1).
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-600}
jobs=${2:-2}
for target in jsonc expression evaluate check bicep; do
  corpus="corpus/$target"
  mkdir -p "$corpus" seeds
  # Seeds: every template and fixture in testdata/, and the expression strings in them.
  if [ ! -e "seeds/$target.done" ]; then
    mkdir -p "seeds/$target"
    if [ "$target" = expression ]; then
      grep -rhoE '"\[[^"]{1,400}\]"' ../testdata | sed -e 's/^"\[//' -e 's/\]"$//' | sort -u |
        awk '{ f = sprintf("seeds/expression/%05d", NR); printf "%s", $0 > f; close(f) }'
    elif [ "$target" = bicep ]; then
      find ../testdata -name '*.bicep' -size -64k -exec cp {} "seeds/$target/" \;
    else
      find ../testdata -name '*.json*' -size -64k -exec cp {} "seeds/$target/" \;
    fi
    touch "seeds/$target.done"
  fi
  cargo +nightly fuzz run -s none -O "$target" "$corpus" "seeds/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -jobs="$jobs" -workers="$jobs" \
    -print_final_stats=1 2>&1 | tee "logs-$target.txt" | grep -E 'stat::|Done|ERROR|crash|timeout|oom' || true
done
