#!/usr/bin/env bash
# Benchmark: submit a large CSV to the sandbox running as a separate process, and measure the
# CLI's throughput and peak RSS. Usage (from the repository root):
#
#   bash amili-cli/benches/submit_bench.sh 100000 1000000
#
# Needs GNU time (/usr/bin/time, Debian package `time`) for peak RSS; falls back to Python's
# getrusage otherwise. Results go to stdout as a Markdown table row per size.
set -euo pipefail

sizes=("${@:-100000 1000000}")
port="${AMILI_BENCH_PORT:-18089}"
work="${TMPDIR:-/tmp}/amili-bench"
mkdir -p "$work"

cargo build --release -q -p amili-cli -p amili-sandbox --bins --examples

sandbox_pid=""
cleanup() { [ -n "$sandbox_pid" ] && kill "$sandbox_pid" 2>/dev/null || true; }
trap cleanup EXIT

for n in ${sizes[@]}; do
  input="$work/payments-$n.csv"
  [ -s "$input" ] || target/release/examples/gen_payments "$n" > "$input"

  # A fresh sandbox per run (its ledger grows with every booked payment).
  cleanup
  target/release/amili-sandbox --addr "127.0.0.1:$port" --batch-delay-ms 0 \
    > "$work/sandbox-$n.log" 2>&1 &
  sandbox_pid=$!
  for _ in $(seq 100); do
    grep -q "listening" "$work/sandbox-$n.log" 2>/dev/null && break
    sleep 0.1
  done

  rm -f "$work/journal-$n" "$work/report-$n.csv"
  export AMILI_API_URL="http://127.0.0.1:$port/collection/v1"
  export AMILI_TOKEN_URL="http://127.0.0.1:$port/token"
  export AMILI_CLIENT_ID=sandbox-client AMILI_CLIENT_SECRET=sandbox-secret
  export AMILI_ORGANIZATION_ID=3fa85f64-5717-4562-b3fc-2c963f66afa6
  cmd=(target/release/amili payments submit "$input" --journal "$work/journal-$n"
       --report "$work/report-$n.csv" ${AMILI_BENCH_ARGS:-})
  start=$(date +%s.%N)
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -v "${cmd[@]}" > "$work/out-$n.txt" 2> "$work/time-$n.txt"
    rss_kib=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$work/time-$n.txt")
  else
    rss_kib=$(python3 - "$work/out-$n.txt" "${cmd[@]}" <<'PY'
import resource, subprocess, sys
with open(sys.argv[1], "w") as out:
    subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.DEVNULL, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
)
  fi
  end=$(date +%s.%N)
  secs=$(echo "$end - $start" | bc -l)
  size_mib=$(du -m "$input" | cut -f1)
  summary=$(grep -E "^[0-9]+ rows:" "$work/out-$n.txt" || true)
  printf '| %s | %s MiB | %.1f s | %.0f payments/s | %.1f MiB | %s |\n' \
    "$n" "$size_mib" "$secs" "$(echo "$n / $secs" | bc -l)" "$(echo "$rss_kib / 1024" | bc -l)" "$summary"
done
