#!/usr/bin/env bash
# Load bench of a release walletd on loopback. Builds nothing: it runs the binary at $WALLETD_BIN
# (default target/release/walletd, or $CARGO_TARGET_DIR/release/walletd).
#
# What it does, in one run on one machine:
#   1. `openssl speed -multi $(nproc) rsa2048` just before and just after the pay run: the RSA-2048
#      signing ceiling (every answer is signed), averaged; and walletd's own signer on every core
#      (`walletd bench sign`), to compare the two.
#   2. A fresh SQLite wallet (`walletd bench setup`: a merchant with a daily limit, a payer, paid
#      payments for the refund and inquiry runs) served by `walletd serve`.
#   3. wrk, pre-signed requests (`walletd bench presign`, a distinct paymentRequestId each):
#      pay, inquiry, refund and the store API (HMAC, a fresh salt each) at full load; pay at half the measured pay rate (fixed rate) for p99;
#      the server's peak RSS (VmHWM).
#   4. With BENCH_HISTORY=N: N paid payments of the same merchant, today, loaded through the
#      storage API (`walletd bench history`), then pay again: after ÷ fresh.
#   5. With BENCH_POSTGRES_URL: the pay run on PostgreSQL (a fresh schema of its own, dropped at the
#      end), one node, then two nodes on the same database.
#
# Settings (environment): BENCH_SECONDS (10), BENCH_CONNECTIONS (64), BENCH_THREADS (2),
# BENCH_PAID (2000), BENCH_HISTORY (0), BENCH_POSTGRES_URL (unset), BENCH_SMOKE=1 (a few seconds,
# small numbers: for CI, no thresholds), BENCH_KEEP=1 (keep the work directory).
set -euo pipefail
cd "$(dirname "$0")/.."

smoke="${BENCH_SMOKE:-0}"
if [ "$smoke" = 1 ]; then
  seconds="${BENCH_SECONDS:-2}"; connections="${BENCH_CONNECTIONS:-8}"; paid="${BENCH_PAID:-100}"
  history="${BENCH_HISTORY:-2000}"; speed_secs=1
else
  seconds="${BENCH_SECONDS:-10}"; connections="${BENCH_CONNECTIONS:-64}"; paid="${BENCH_PAID:-2000}"
  history="${BENCH_HISTORY:-0}"; speed_secs=5
fi
threads="${BENCH_THREADS:-2}"
# Pre-signed requests per run: more than a run can send at the highest rate we expect, so no
# request repeats (a repeat would be an idempotent replay, not a payment).
per_run=$(( seconds * 5000 ))
[ "$smoke" = 1 ] && per_run=$(( seconds * 3000 ))

bin="${WALLETD_BIN:-${CARGO_TARGET_DIR:-target}/release/walletd}"
if [ ! -x "$bin" ]; then
  echo "no walletd binary at $bin: build one with 'cargo build --release -p walletd' or set WALLETD_BIN" >&2
  exit 2
fi
if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends wrk >/dev/null
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/walletd-bench.XXXXXX")"  # removed on exit unless BENCH_KEEP=1
pids=()
pg_schema=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$pg_schema" ]; then
    psql -q "$BENCH_POSTGRES_URL" -c "DROP SCHEMA IF EXISTS $pg_schema CASCADE" >/dev/null 2>&1 || true
  fi
  if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# The results, one "name value" line each, printed as a table at the end.
results="$work/results"
: >"$results"
record() { printf '%s %s\n' "$1" "$2" >>"$results"; printf '  %-34s %s\n' "$1" "$2"; }
field() { sed -n "s/.*[ ]$2=\([^ ]*\).*/\1/p" <<<"$1" | head -n 1; }

# start_node DATA_DIR LOG [extra walletd args…]: starts `walletd serve` on a free port; sets $node_pid
# and $node_url.
start_node() {
  local dir="$1" log="$2"; shift 2
  : >"$log"
  # One bench client sends far more than a merchant's rate limit allows: measure the wallet, not
  # the limiter.
  WALLETD_HTTP__RATE_LIMIT_PER_SECOND=0 "$bin" --data-dir "$dir" "$@" serve --listen 127.0.0.1:0 >"$log" 2>&1 &
  node_pid=$!
  pids+=("$node_pid")
  local addr=""
  for _ in $(seq 1 100); do
    addr="$(sed 's/\x1b\[[0-9;]*m//g' "$log" | sed -n 's/.*walletd listening.*address=\([0-9.:]*\).*/\1/p' | head -n 1)"
    [ -n "$addr" ] && break
    kill -0 "$node_pid" 2>/dev/null || { cat "$log" >&2; echo "walletd did not start" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$addr" ] || { cat "$log" >&2; echo "walletd did not say where it listens" >&2; exit 1; }
  node_url="http://$addr"
}

stop_node() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# drive NAME URL KIND CONNECTIONS [DELAY_MS] [extra walletd args…]: pre-signs, runs wrk, prints the
# RESULT line; sets $last.
run_no=0
drive() {
  local name="$1" url="$2" kind="$3" conns="$4" delay="${5:-0}"; shift 5 || shift $#
  run_no=$((run_no + 1))
  local script="$work/$name.lua"
  # Store requests are cheap to sign (HMAC) and served fast: more of them, so none repeats a salt.
  local n="$per_run"; [ "$kind" = store ] && n=$(( per_run * 8 ))
  "$bin" --data-dir "$data" "$@" bench presign --kind "$kind" --requests "$n" --threads "$threads" \
    --delay-ms "$delay" --tag "r$run_no" --paid "$paid" --out "$script" 2>/dev/null
  last="$(wrk -t "$threads" -c "$conns" -d "${seconds}s" --timeout 10s -s "$script" "$url" | grep -E '^(RESULT|SAMPLE_BAD)' || true)"
  echo "  $name: $(grep '^RESULT' <<<"$last")"
  if [ "$(field "$last" requests)" -gt "$(field "$last" presigned)" ] 2>/dev/null; then
    echo "  $name: more requests than pre-signed ones: the rest were idempotent repeats (raise per_run)"
  fi
  if grep -q '^SAMPLE_BAD' <<<"$last"; then echo "  $name: first bad answer: $(grep '^SAMPLE_BAD' <<<"$last" | cut -c1-300)"; fi
}

echo "walletd load bench: $bin, $(nproc) cores, ${seconds}s runs, $connections connections, $threads wrk threads"
echo "machine: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1); load now: $(cut -d' ' -f1-3 /proc/loadavg)"

# The machine's signing rate: RSA-2048 signs/s of `openssl speed` on every core.
signing_ceiling() {
  openssl speed -seconds "$speed_secs" -multi "$(nproc)" rsa2048 2>/dev/null | grep -E '^rsa +2048' | tail -n 1 | awk '{print $(NF-1)}'
}

echo "== SQLite, fresh wallet"
data="$work/sqlite"
"$bin" --data-dir "$data" bench setup --paid "$paid" | tee "$work/setup.out"
core="$(grep '^CORE' "$work/setup.out")"
record core_confirm_per_s "$(field "$core" confirm_per_s)"
start_node "$data" "$work/node.log"
pid="$node_pid"; url="$node_url"

# The ceiling is taken just before and just after the pay run and averaged: on a shared or
# virtual machine the speed of the cores drifts over minutes, and the ratio must compare the two
# at the same time.
echo "== RSA-2048 signing ceiling (openssl speed -multi $(nproc)), then pay, then the ceiling again"
ceiling_before="$(signing_ceiling)"
drive pay "$url" pay "$connections" 0
ceiling_after="$(signing_ceiling)"
ceiling="$(awk -v a="$ceiling_before" -v b="$ceiling_after" 'BEGIN { printf "%.1f", (a + b) / 2 }')"
record openssl_rsa2048_signs_per_s_before "$ceiling_before"
record openssl_rsa2048_signs_per_s_after "$ceiling_after"
record openssl_rsa2048_signs_per_s "$ceiling"
# walletd's own signer (the wallet key, the library the server signs with) on every core: how the
# ceiling compares with what the server itself could sign if it did nothing else.
walletd_signs="$(field "$("$bin" --data-dir "$data" bench sign --seconds "$speed_secs" --threads "$(nproc)")" signs_per_s)"
record walletd_rsa2048_signs_per_s "$walletd_signs"
pay_rps="$(field "$last" rps)"
record sqlite_pay_per_s "$pay_rps"
record sqlite_pay_p99_ms_full_load "$(field "$last" p99_ms)"
record sqlite_pay_bad_answers "$(field "$last" bad)"
record pay_over_ceiling "$(awk -v a="$pay_rps" -v b="$ceiling" 'BEGIN { printf "%.2f", a / b }')"
record pay_over_walletd_signing "$(awk -v a="$pay_rps" -v b="$walletd_signs" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')"

drive inquiry "$url" inquiry "$connections" 0
record sqlite_inquiry_per_s "$(field "$last" rps)"
drive refund "$url" refund "$connections" 0
record sqlite_refund_per_s "$(field "$last" rps)"
# The store API signs with HMAC (no RSA), but claims every salt in a write transaction.
drive store_api "$url" store "$connections" 0
record sqlite_store_api_per_s "$(field "$last" rps)"
record sqlite_store_api_bad_answers "$(field "$last" bad)"

# Half the pay rate, fixed: each connection waits so that all together send about rate/2.
half="$(awk -v r="$pay_rps" 'BEGIN { printf "%d", r / 2 }')"
fixed_conns=$(( connections < 16 ? connections : 16 ))
delay_ms="$(awk -v c="$fixed_conns" -v r="$half" 'BEGIN { d = (r > 0) ? 1000 * c / r : 100; printf "%d", d }')"
# wrk waits the delay (an exponential gap with this mean) after each answer, so a connection's cycle is delay + latency: one short
# calibration run measures the latency part, and the measured run subtracts it.
saved_seconds="$seconds"; seconds=$(( seconds < 3 ? seconds : 3 ))
drive pay_half_rate_calibration "$url" pay "$fixed_conns" "$delay_ms"
seconds="$saved_seconds"
delay_ms="$(awk -v c="$fixed_conns" -v r="$half" -v a="$(field "$last" rps)" -v d="$delay_ms" \
  'BEGIN { lat = (a > 0) ? 1000 * c / a - d : 0; x = 1000 * c / r - lat; if (x < 0) x = 0; printf "%d", x }')"
drive pay_half_rate "$url" pay "$fixed_conns" "$delay_ms"
record sqlite_half_rate_target_per_s "$half"
record sqlite_half_rate_sent_per_s "$(field "$last" rps)"
record sqlite_half_rate_p50_ms "$(field "$last" p50_ms)"
record sqlite_half_rate_p99_ms "$(field "$last" p99_ms)"
record sqlite_peak_rss_mib "$(awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")"

if [ "$history" -gt 0 ]; then
  echo "== SQLite, after $history more payments of the same merchant today"
  stop_node "$pid"
  "$bin" --data-dir "$data" bench history --payments "$history" | tee "$work/history.out"
  start_node "$data" "$work/node2.log"
  pid="$node_pid"; url="$node_url"
  drive pay_after_history "$url" pay "$connections" 0
  after="$(field "$last" rps)"
  record sqlite_history_payments "$history"
  record sqlite_pay_per_s_after_history "$after"
  record pay_after_over_fresh "$(awk -v a="$after" -v b="$pay_rps" 'BEGIN { printf "%.2f", a / b }')"
fi
stop_node "$pid"

if [ -n "${BENCH_POSTGRES_URL:-}" ]; then
  echo "== PostgreSQL"
  pg_schema="walletd_bench_$$"
  psql -q "$BENCH_POSTGRES_URL" -c "CREATE SCHEMA $pg_schema" >/dev/null
  sep='?'; [[ "$BENCH_POSTGRES_URL" == *\?* ]] && sep='&'
  pg_url="${BENCH_POSTGRES_URL}${sep}options=-csearch_path%3D${pg_schema}"
  data="$work/pg"
  "$bin" --data-dir "$data" --database "$pg_url" bench setup --paid 1 >/dev/null
  start_node "$data" "$work/pg1.log" --database "$pg_url"
  pg1="$node_pid"; url1="$node_url"
  drive pg_pay_one_node "$url1" pay "$connections" 0 --database "$pg_url"
  pg_one="$(field "$last" rps)"
  record postgres_one_node_pay_per_s "$pg_one"
  record postgres_one_node_p99_ms "$(field "$last" p99_ms)"
  record postgres_over_sqlite "$(awk -v a="$pg_one" -v b="$pay_rps" 'BEGIN { printf "%.2f", a / b }')"

  start_node "$data" "$work/pg2.log" --database "$pg_url"
  pg2="$node_pid"; url2="$node_url"
  run_no=$((run_no + 1)); s1="$work/pg_two_a.lua"; s2="$work/pg_two_b.lua"
  "$bin" --data-dir "$data" --database "$pg_url" bench presign --kind pay --requests "$per_run" \
    --threads 1 --tag "r${run_no}a" --out "$s1" 2>/dev/null
  "$bin" --data-dir "$data" --database "$pg_url" bench presign --kind pay --requests "$per_run" \
    --threads 1 --tag "r${run_no}b" --out "$s2" 2>/dev/null
  half_conns=$(( connections / 2 > 0 ? connections / 2 : 1 ))
  wrk -t 1 -c "$half_conns" -d "${seconds}s" --timeout 10s -s "$s1" "$url1" >"$work/two_a.out" &
  wa=$!
  wrk -t 1 -c "$half_conns" -d "${seconds}s" --timeout 10s -s "$s2" "$url2" >"$work/two_b.out"
  wait "$wa"
  ra="$(grep '^RESULT' "$work/two_a.out")"; rb="$(grep '^RESULT' "$work/two_b.out")"
  echo "  pg node A: $ra"; echo "  pg node B: $rb"
  record postgres_two_nodes_pay_per_s "$(awk -v a="$(field "$ra" rps)" -v b="$(field "$rb" rps)" 'BEGIN { printf "%.1f", a + b }')"
  record postgres_two_nodes_bad_answers "$(( $(field "$ra" bad) + $(field "$rb" bad) ))"
  stop_node "$pg1"; stop_node "$pg2"
fi

echo
echo "== summary"
column -t "$results" 2>/dev/null || cat "$results"
