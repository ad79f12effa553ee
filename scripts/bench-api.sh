#!/usr/bin/env bash
# REST API benchmark (`make bench-api`): starts the release server on a free loopback port with a
# fresh data dir and no rate limit, then drives it with wrk (load generator on the same machine):
#   GET  /v1/exports/{_id}  for each connection count in GET_CONNECTIONS
#   POST /v1/exports        (every request creates an export, fsync'ed before the answer)
# Prints a table (requests/s, p50/p99 latency, errors, server CPU, peak RSS) and writes the same
# to bench-results/api.json. Fails if any request got a non-2xx answer or the server misbehaves.
#
# Needs: the release binary (`cargo build --release -p integrator --bin integrator`), wrk, curl.
# Optional knobs (defaults in brackets): BENCH_API_DURATION [10] and BENCH_API_WARMUP [3] in
# seconds, BENCH_API_GET_CONNECTIONS ["16 64"], BENCH_API_POST_CONNECTIONS ["16"],
# BENCH_API_THREADS [2].
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

duration=${BENCH_API_DURATION:-10}
warmup=${BENCH_API_WARMUP:-3}
threads=${BENCH_API_THREADS:-2}
get_connections=${BENCH_API_GET_CONNECTIONS:-16 64}
post_connections=${BENCH_API_POST_CONNECTIONS:-16}
goal_rps=20000 # GET /v1/exports/{_id}, 2-core machine, load generator on the same machine

target_dir=${CARGO_TARGET_DIR:-target}
[[ $target_dir == /* ]] || target_dir="$root/$target_dir"
bin="$target_dir/release/integrator"
results_dir="$root/bench-results"
post_lua="$root/scripts/bench/post-export.lua"

die() { echo "bench-api: $*" >&2; exit 1; }
[[ -x $bin ]] || die "no release binary at $bin (run: cargo build --release -p integrator --bin integrator)"
for tool in wrk curl awk; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (scripts/install-bench-deps.sh installs wrk)"
done
[[ -r $post_lua ]] || die "missing $post_lua"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/integrator-bench-api.XXXXXX")
server_pid=""

stop_server() {
  [[ -n $server_pid ]] || return 0
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 100); do # up to 10 s for the graceful shutdown (final flush)
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$server_pid" 2>/dev/null; then
      echo "bench-api: server did not stop on SIGTERM, killing it" >&2
      kill -KILL "$server_pid" 2>/dev/null || true
    fi
  fi
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_server
  if [[ $rc -ne 0 && -s $tmp/server.err ]]; then
    echo "--- last lines of the server's stderr ---" >&2
    tail -n 20 "$tmp/server.err" >&2 || true
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- start the server -------------------------------------------------------------------------
# Port 0: the kernel picks a free loopback port; the server prints the one it got. Settings that
# the environment could change are pinned so results do not depend on the caller's shell.
env -u INTEGRATOR_LISTEN -u INTEGRATOR_DATA_DIR -u INTEGRATOR_SECRET_KEY -u INTEGRATOR_OWNER_EMAIL \
  RUST_LOG=info NO_COLOR=1 \
  "$bin" serve --listen 127.0.0.1:0 --data-dir "$tmp/data" --no-rate-limit \
  >"$tmp/server.out" 2>"$tmp/server.err" </dev/null &
server_pid=$!

base=""
for _ in $(seq 300); do # up to 30 s (store creation, first start)
  kill -0 "$server_pid" 2>/dev/null || die "the server exited during start-up"
  base=$(sed -n 's|^Integrator API listening on \(http://127\.0\.0\.1:[0-9]*\)/v1.*|\1|p' "$tmp/server.out")
  [[ -n $base ]] && break
  sleep 0.1
done
[[ -n $base ]] || die "the server did not report its address within 30 s"
token=$(sed -n 's/^API token: //p' "$tmp/server.out")
[[ -n $token ]] || die "the server did not print an API token (is the data dir fresh?)"
auth="Authorization: Bearer $token"

ready=""
for _ in $(seq 100); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -H "$auth" "$base/v1/tokenInfo" || true)
  if [[ $code == 200 ]]; then ready=1; break; fi
  sleep 0.1
done
[[ -n $ready ]] || die "the server does not answer GET /v1/tokenInfo with 200 (last: ${code:-none})"

# --- the export read by the GET benchmark -----------------------------------------------------
# (the same body as scripts/bench/post-export.lua)
body='{"name":"bench","pageSize":20,"type":"delta","delta":{"dateField":"updated_at"},"http":{"relativeURI":"/orders","method":"GET"}}'
code=$(curl -s -o "$tmp/created.json" -w '%{http_code}' --max-time 10 -X POST -H "$auth" \
  -H 'Content-Type: application/json' --data "$body" "$base/v1/exports")
[[ $code == 201 ]] || die "POST /v1/exports answered $code: $(cat "$tmp/created.json")"
export_id=$(grep -o '"_id":"[0-9a-f]\{24\}"' "$tmp/created.json" | head -n 1 | cut -d'"' -f4)
[[ -n $export_id ]] || die "no _id in the created export: $(cat "$tmp/created.json")"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "$auth" "$base/v1/exports/$export_id")
[[ $code == 200 ]] || die "GET /v1/exports/$export_id answered $code"

# --- wrk scripts: a done() hook prints the numbers in one machine-readable line ----------------
cat >"$tmp/report.lua" <<'EOF'

-- appended by scripts/bench-api.sh
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH_RESULT %d %d %d %d %d %d %d %d %d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, e.status))
end
EOF
cp "$tmp/report.lua" "$tmp/get.lua"
cat "$post_lua" "$tmp/report.lua" >"$tmp/post.lua"

mkdir -p "$results_dir"
wrk_log="$results_dir/api-wrk.log"
: >"$wrk_log"
clk_tck=$(getconf CLK_TCK)

server_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }
# Busy CPU ticks of the whole machine (everything but idle and iowait), from /proc/stat.
machine_busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
# CPU seconds (user + system) of this shell's finished children, from a saved `times` output (the
# builtin must run in this shell, not in a $(...) subshell, to count wrk).
children_cpu() {
  awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }; printf "%.3f", t }' "$1"
}
server_kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$server_pid/status"; }

# run_wrk LABEL CONNECTIONS SECONDS SCRIPT URL -> sets r_* variables
run_wrk() {
  local label=$1 conns=$2 secs=$3 script=$4 url=$5 line cpu0 cpu1 t0 t1 w0 w1 m0 m1
  kill -0 "$server_pid" 2>/dev/null || die "the server died before: $label"
  m0=$(machine_busy_ticks); cpu0=$(server_cpu_ticks); t0=$(date +%s%N); times >"$tmp/times.0"
  if ! wrk -t "$threads" -c "$conns" -d "${secs}s" --timeout 5s --latency -s "$script" \
      -H "$auth" "$url" >"$tmp/wrk.out" 2>&1; then
    cat "$tmp/wrk.out" >&2
    die "wrk failed: $label"
  fi
  times >"$tmp/times.1"; cpu1=$(server_cpu_ticks); m1=$(machine_busy_ticks); t1=$(date +%s%N)
  { echo "### $label, $conns connections, ${secs}s"; cat "$tmp/wrk.out"; echo; } >>"$wrk_log"
  kill -0 "$server_pid" 2>/dev/null || die "the server died during: $label"
  line=$(grep '^BENCH_RESULT ' "$tmp/wrk.out") || { cat "$tmp/wrk.out" >&2; die "no result from wrk: $label"; }
  read -r _ r_requests r_duration_us r_p50_us r_p99_us r_connect r_read r_write r_timeout r_non2xx <<<"$line"
  # requests/s counts only 2xx answers
  r_rps=$(awk -v n=$((r_requests - r_non2xx)) -v d="$r_duration_us" 'BEGIN { printf "%.0f", (d > 0 ? n * 1e6 / d : 0) }')
  r_p50=$(awk -v u="$r_p50_us" 'BEGIN { printf "%.2f", u / 1000 }')
  r_p99=$(awk -v u="$r_p99_us" 'BEGIN { printf "%.2f", u / 1000 }')
  r_socket=$((r_connect + r_read + r_write + r_timeout))
  # server CPU in cores (user + system), over the wall time of the run
  r_cpu=$(awk -v c=$((cpu1 - cpu0)) -v hz="$clk_tck" -v ns=$((t1 - t0)) \
    'BEGIN { printf "%.2f", (ns > 0 ? c / hz / (ns / 1e9) : 0) }')
  w0=$(children_cpu "$tmp/times.0"); w1=$(children_cpu "$tmp/times.1")
  r_wrk_cpu=$(awk -v a="$w0" -v b="$w1" -v ns=$((t1 - t0)) 'BEGIN { printf "%.2f", (ns > 0 ? (b - a) / (ns / 1e9) : 0) }')
  # everything else running on the machine meanwhile (other builds, kernel threads)
  r_other_cpu=$(awk -v m=$((m1 - m0)) -v hz="$clk_tck" -v ns=$((t1 - t0)) -v s="$r_cpu" -v w="$r_wrk_cpu" \
    'BEGIN { o = (ns > 0 ? m / hz / (ns / 1e9) : 0) - s - w; printf "%.2f", (o < 0 ? 0 : o) }')
  r_label=$label r_conns=$conns
}

rows=()    # table lines
json_rows=() # JSON objects
total_non2xx=0
total_socket=0
best_get=0
best_get_conns=0

record() {
  rows+=("$(printf '%-24s %5s %10s %9s %9s %8s %9s %8s %8s %8s' "$r_label" "$r_conns" "$r_rps" \
    "$r_p50" "$r_p99" "$r_non2xx" "$r_socket" "$r_cpu" "$r_wrk_cpu" "$r_other_cpu")")
  json_rows+=("$(printf '{"scenario":"%s","connections":%d,"threads":%d,"duration_s":%.3f,"requests":%d,"requests_per_sec":%d,"latency_ms":{"p50":%s,"p99":%s},"errors":{"non_2xx":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d},"server_cpu_cores":%s,"wrk_cpu_cores":%s,"other_cpu_cores":%s}' \
    "$r_label" "$r_conns" "$threads" "$(awk -v d="$r_duration_us" 'BEGIN { print d / 1e6 }')" \
    "$r_requests" "$r_rps" "$r_p50" "$r_p99" "$r_non2xx" "$r_connect" "$r_read" "$r_write" \
    "$r_timeout" "$r_cpu" "$r_wrk_cpu" "$r_other_cpu")")
  total_non2xx=$((total_non2xx + r_non2xx))
  total_socket=$((total_socket + r_socket))
}

fs_type=$(findmnt -no FSTYPE -T "$tmp" 2>/dev/null || stat -f -c %T "$tmp")
echo "bench-api: server pid $server_pid at $base (data dir on $fs_type, rate limit off), export $export_id"
echo "bench-api: wrk $threads threads, ${duration}s per scenario after a ${warmup}s warm-up; $(nproc) CPUs shared by server and wrk"
rss_start=$(server_kib VmRSS)

get_url="$base/v1/exports/$export_id"
post_url="$base/v1/exports"
first_get=${get_connections%% *}

run_wrk "warm-up GET" "$first_get" "$warmup" "$tmp/get.lua" "$get_url"
[[ $r_non2xx -eq 0 ]] || die "warm-up GET: $r_non2xx non-2xx answers"
for c in $get_connections; do
  run_wrk "GET /v1/exports/{_id}" "$c" "$duration" "$tmp/get.lua" "$get_url"
  record
  if ((r_rps > best_get)); then best_get=$r_rps; best_get_conns=$c; fi
done
rss_peak_get=$(server_kib VmHWM)

first_post=${post_connections%% *}
run_wrk "warm-up POST" "$first_post" 2 "$tmp/post.lua" "$post_url"
[[ $r_non2xx -eq 0 ]] || die "warm-up POST: $r_non2xx non-2xx answers"
for c in $post_connections; do
  run_wrk "POST /v1/exports" "$c" "$duration" "$tmp/post.lua" "$post_url"
  record
done

rss_peak=$(server_kib VmHWM)
rss_end=$(server_kib VmRSS)
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "$auth" "$get_url")
[[ $code == 200 ]] || die "after the runs, GET /v1/exports/$export_id answered $code"
stop_server

ratio=$(awk -v m="$best_get" -v g="$goal_rps" 'BEGIN { printf "%.2f", m / g }')
met=$( ((best_get >= goal_rps)) && echo true || echo false)

echo
printf '%-24s %5s %10s %9s %9s %8s %9s %8s %8s %8s\n' scenario conns "req/s" "p50 ms" "p99 ms" non-2xx "sock err" "srv CPU" "wrk CPU" "oth CPU"
printf '%s\n' "${rows[@]}"
echo "(CPU columns: cores used during the run, user + system, out of $(nproc); oth = everything else on the machine)"
echo
echo "server RSS: ${rss_start} KiB at start, peak ${rss_peak_get} KiB after GET, peak ${rss_peak} KiB overall (VmHWM), ${rss_end} KiB at end"
echo "goal: >= ${goal_rps} GET /v1/exports/{_id} per second (2 cores, wrk on the same machine)"
echo "measured: ${best_get} req/s (${best_get_conns} connections) -> ratio ${ratio} of goal ($([[ $met == true ]] && echo met || echo NOT met))"

{
  printf '{\n  "benchmark": "api",\n'
  printf '  "date": "%s",\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  printf '  "commit": "%s",\n' "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  printf '  "host": {"cpus": %d, "kernel": "%s"},\n' "$(nproc)" "$(uname -r)"
  printf '  "load_generator": {"tool": "wrk", "threads": %d, "duration_s": %d, "warmup_s": %d, "same_machine": true},\n' \
    "$threads" "$duration" "$warmup"
  printf '  "server": {"rate_limit": false, "rss_start_kib": %d, "peak_rss_after_get_kib": %d, "peak_rss_kib": %d, "rss_end_kib": %d},\n' \
    "$rss_start" "$rss_peak_get" "$rss_peak" "$rss_end"
  printf '  "goal": {"scenario": "GET /v1/exports/{_id}", "requests_per_sec": %d, "measured_requests_per_sec": %d, "measured_connections": %d, "ratio": %s, "met": %s},\n' \
    "$goal_rps" "$best_get" "$best_get_conns" "$ratio" "$met"
  printf '  "scenarios": [\n'
  for i in "${!json_rows[@]}"; do
    sep=","; ((i == ${#json_rows[@]} - 1)) && sep=""
    printf '    %s%s\n' "${json_rows[$i]}" "$sep"
  done
  printf '  ]\n}\n'
} >"$results_dir/api.json"
echo "results: bench-results/api.json (raw wrk output: bench-results/api-wrk.log)"

((total_socket == 0)) || echo "bench-api: warning: ${total_socket} socket errors (see bench-results/api-wrk.log)" >&2
((total_non2xx == 0)) || die "${total_non2xx} non-2xx answers (see bench-results/api-wrk.log)"
