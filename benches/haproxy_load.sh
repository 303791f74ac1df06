#!/usr/bin/env bash
# Load and latency of watchpost against a real HAProxy 2.6 (figures for the closing
# note). Not a test: it prints a table.
#
#   cargo build --release && benches/haproxy_load.sh
#
# Environment (all optional):
#   N=1000          backends, 4 servers each
#   RUN_S=60        seconds of each polling run (interval 5 s)
#   REPS=5          repetitions of the DOWN-delay measurement (per source)
#   WATCHPOST_BIN   default target/release/watchpost
# Needs haproxy, socat, curl, jq, python3 (the probe backend), /proc. Everything runs
# on 127.0.0.1 in a temp dir; only processes this script started are stopped.
#
# Setup. HAProxy (nbthread 1, so its CPU is one thread) has N backends be_0001..,
# each with 4 servers pointing at a closed port with health checks disabled (status
# "no check": no check traffic, so HAProxy's CPU is what the pollers cost), plus
# be_probe: one server on a real listener (python3 http.server) checked with
# `check inter 1s fall 3 rise 2`, for the DOWN delay (its checks are paused during
# the CPU runs of step 2).
#   1. HAProxy CPU for one full `show stat` (Runtime API) and one `;csv;norefresh`
#      stats page, 20 times each, median (utime+stime in clock ticks, and the
#      nanosecond on-CPU time from /proc/<pid>/task/*/schedstat since a tick is 10 ms).
#   2. `watchpost run` with a `socket` source, then a `stats` source, `backends = "*"`,
#      interval 5 s, RUN_S s after every target was first read: HAProxy CPU per poll
#      cycle (delta / cycles, a cycle counted from the last_fetch_at of be_0001),
#      requests HAProxy served per cycle, our CPU and peak RSS (VmHWM).
#   3. Interval 1 s: the delay from HAProxy marking be_probe/p1 DOWN (found by
#      polling its own `show stat` every 50 ms) to the `ts` (commit time) of our
#      server_state_changed event (read from /api/events).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

N=${N:-1000}
RUN_S=${RUN_S:-60}
REPS=${REPS:-5}
BIN=${WATCHPOST_BIN:-target/release/watchpost}
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
for tool in "$HAPROXY" socat curl jq python3; do
  command -v "$tool" >/dev/null || { echo "missing: $tool (scripts/test installs haproxy)" >&2; exit 1; }
done
[ -x "$BIN" ] || { echo "no $BIN: run cargo build --release first" >&2; exit 1; }
TICK=$(getconf CLK_TCK)

W=$(mktemp -d)
SOCK=$W/admin.sock
HA_PID="" WP_PID="" PROBE_PID=""
cleanup() {
  for p in $WP_PID $PROBE_PID $HA_PID; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

say() { printf '%s\n' "$*" >&2; }
now_ms() { date +%s%3N; }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
cli() { echo "$1" | socat -t 10 stdio "unix-connect:$SOCK"; }
# utime+stime of a process, in ms.
cpu_ms() { sed 's/.*) //' "/proc/$1/stat" | awk -v t="$TICK" '{ print ($12 + $13) * 1000 / t }'; }
# On-CPU time of every thread of a process, in ns.
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { print s }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
minmax() { sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo " / " hi }'; }
# One column of the row svname of proxy px in `show stat`.
stat_field() {
  cli "show stat $1 -1 -1" | awk -F, -v sv="$2" -v f="$3" \
    'NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) if ($i == f) c = i; next } $2 == sv { print $c }'
}
wait_until() { # wait_until SECONDS command...: polls every 100 ms
  local end=$(( $(date +%s) + $1 )); shift
  until "$@"; do
    [ "$(date +%s)" -lt "$end" ] || { say "timed out: $*"; return 1; }
    sleep 0.1
  done
}

STATS_PORT=$(free_port) PROBE_PORT=$(free_port) CLOSED_PORT=$(free_port) API_PORT=$(free_port)

write_haproxy_cfg() {
  {
    printf 'global\n    nbthread 1\n    maxconn 4096\n    stats socket %s level admin\n\n' "$SOCK"
    printf 'defaults\n    mode http\n    timeout connect 1s\n    timeout client 10s\n    timeout server 10s\n\n'
    printf 'listen stats\n    bind 127.0.0.1:%s\n    stats enable\n    stats uri /stats\n    stats auth admin:pw\n\n' "$STATS_PORT"
    printf 'backend be_probe\n    option httpchk GET /\n    server p1 127.0.0.1:%s check inter 1s fall 3 rise 2\n\n' "$PROBE_PORT"
    for i in $(seq -f '%04g' 1 "$N"); do
      printf 'backend be_%s\n' "$i"
      for s in 1 2 3 4; do printf '    server s%s 127.0.0.1:%s\n' "$s" "$CLOSED_PORT"; done
    done
  } > "$W/haproxy.cfg"
}

start_probe() {
  python3 -m http.server "$PROBE_PORT" --bind 127.0.0.1 >/dev/null 2>&1 &
  PROBE_PID=$!
}
stop_probe() { kill "$PROBE_PID"; wait "$PROBE_PID" 2>/dev/null || true; PROBE_PID=""; }
probe_status() { stat_field be_probe p1 status; }

ha_ready() { cli "show info" 2>/dev/null | grep -q "^Pid: $HA_PID\$"; }
start_haproxy() {
  write_haproxy_cfg
  "$HAPROXY" -db -f "$W/haproxy.cfg" > "$W/haproxy.log" 2>&1 &
  HA_PID=$!
  wait_until 30 ha_ready || { cat "$W/haproxy.log" >&2; exit 1; }
}

# HAProxy CPU of 20 runs of a command: "median_ticks_ms median_schedstat_ms bytes".
measure() {
  local ticks=() ns=() a b c d bytes
  for _ in $(seq 20); do
    a=$(cpu_ms "$HA_PID"); c=$(cpu_ns "$HA_PID")
    bytes=$("$@" | wc -c)
    b=$(cpu_ms "$HA_PID"); d=$(cpu_ns "$HA_PID")
    ticks+=("$(awk -v a="$a" -v b="$b" 'BEGIN { print b - a }')")
    ns+=("$(awk -v c="$c" -v d="$d" 'BEGIN { printf "%.2f", (d - c) / 1e6 }')")
  done
  echo "$(printf '%s\n' "${ticks[@]}" | median) $(printf '%s\n' "${ns[@]}" | median) $bytes"
}
full_show_stat() { cli "show stat"; }
stats_page() { curl -s -u admin:pw "http://127.0.0.1:$STATS_PORT/stats;csv;norefresh"; }

# watchpost config for source $1 (socket|stats), interval $2, timeout $3.
write_wp_cfg() {
  local db="$W/wp-$1-$2.redb"
  rm -f "$db"
  {
    printf '[server]\nlisten = "127.0.0.1:%s"\n\n[storage]\npath = "%s"\n\n' "$API_PORT" "$db"
    printf '[defaults]\ninterval = "%s"\ntimeout = "%s"\nretry = { max_elapsed = "%s" }\n\n' "$2" "$3" "$3"
    printf '[[haproxy]]\nname = "lb"\nsource = "%s"\nbackends = "*"\n' "$1"
    if [ "$1" = socket ]; then
      printf 'socket = "%s"\n' "$SOCK"
    else
      printf 'url = "http://127.0.0.1:%s/stats"\nusername = "admin"\npassword = "pw"\n' "$STATS_PORT"
    fi
  } > "$W/wp.toml"
  "$BIN" check-config --config "$W/wp.toml" >&2
}
api() { curl -s --max-time 10 "http://127.0.0.1:$API_PORT$1"; }
all_read() { [ "$(api /api/health | jq '.targets.success // 0' 2>/dev/null)" = "$((N + 1))" ]; }
# Starts the daemon and waits (up to 180 s) until command $1 succeeds.
start_wp() {
  "$BIN" run --config "$W/wp.toml" > "$W/wp.log" 2>&1 &
  WP_PID=$!
  wait_until 180 "$1" || { tail -20 "$W/wp.log" >&2; exit 1; }
}
stop_wp() { kill "$WP_PID"; wait "$WP_PID" 2>/dev/null || true; WP_PID=""; }
last_fetch() { api "/api/targets/haproxy%2Flb%2Fbe_0001" | jq -r .last_fetch_at; }
# Requests HAProxy served: stats page HTTP requests, or connections (CumConns; the
# Runtime API takes one connection per command, and the second `show info` that
# reads it counts itself, hence the adjustment of 1 for the socket). CumConns also
# counts health checks: polling_run pauses be_probe's.
requests() {
  if [ "$1" = stats ]; then stat_field stats FRONTEND req_tot
  else cli "show info" | awk -F': ' '$1 == "CumConns" { print $2 }'; fi
}

# Runs the daemon with source $1 at 5 s; prints "ha_ms_per_cycle ha_schedms_per_cycle
# cycles requests_per_cycle wp_cpu_ms wp_cpu_pct vmhwm_kb startup_s startup_cpu_ms".
polling_run() {
  write_wp_cfg "$1" 5s 3s
  local t0 t1 s0 ha0 han0 wp0 r0 seen ha1 han1 wp1 r1 cycles
  cli "disable health be_probe/p1" >/dev/null
  t0=$(now_ms)
  start_wp all_read
  t1=$(now_ms); s0=$(cpu_ms "$WP_PID")
  ha0=$(cpu_ms "$HA_PID"); han0=$(cpu_ns "$HA_PID"); wp0=$(cpu_ms "$WP_PID"); r0=$(requests "$1")
  # Cycles: distinct last_fetch_at of be_0001 (sampled every second) after the first.
  local end=$(( $(date +%s) + RUN_S ))
  : > "$W/samples"
  while [ "$(date +%s)" -lt "$end" ]; do last_fetch >> "$W/samples"; sleep 1; done
  seen=$(( $(grep '^20' "$W/samples" | sort -u | wc -l) - 1 ))
  ha1=$(cpu_ms "$HA_PID"); han1=$(cpu_ns "$HA_PID"); wp1=$(cpu_ms "$WP_PID"); r1=$(requests "$1")
  local hwm; hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$WP_PID/status")
  stop_wp
  cli "enable health be_probe/p1" >/dev/null
  cycles=$(( seen > 0 ? seen : 1 ))
  awk -v a="$ha0" -v b="$ha1" -v c="$han0" -v d="$han1" -v n="$cycles" -v r0="$r0" -v r1="$r1" -v adj="$([ "$1" = socket ] && echo 1 || echo 0)" \
      -v w0="$wp0" -v w1="$wp1" -v s="$RUN_S" -v h="$hwm" -v t0="$t0" -v t1="$t1" -v s0="$s0" \
    'BEGIN { printf "%.1f %.2f %d %.1f %d %.2f %d %.1f %d\n", (b - a) / n, (d - c) / 1e6 / n, n,
             (r1 - r0 - adj) / n, w1 - w0, (w1 - w0) / (s * 10), h, (t1 - t0) / 1000, s0 }'
}

probe_is() { [ "$(probe_status)" = "$1" ]; }
probe_ours_up() {
  [ "$(api "/api/targets/haproxy%2Flb%2Fbe_probe" | jq -r '.servers[0].state')" = up ]
}
last_seq() { api /metrics | awk '$1 == "watchpost_last_event_sequence" { print $2 }'; }
down_event_ts() {
  api "/api/events?since=$1&target=haproxy%2Flb%2Fbe_probe&limit=100" \
    | jq -r '[.events[] | select(.type == "server_state_changed" and .data.to == "down")][0].ts // empty'
}

# The DOWN delay with source $1 at 1 s, REPS times: one "delay_ms window_ms" per line.
delay_run() {
  write_wp_cfg "$1" 1s 800ms
  [ -n "$PROBE_PID" ] || start_probe
  start_wp probe_ours_up
  local r seq prev t_ha st ts ev end
  for r in $(seq "$REPS"); do
    [ -n "$PROBE_PID" ] || start_probe
    wait_until 60 probe_is UP || { say "  $1 rep $r: HAProxy never showed be_probe/p1 UP"; break; }
    wait_until 60 probe_ours_up || { say "  $1 rep $r: be_probe/p1 not up in our API within 60 s"; break; }
    seq=$(last_seq)
    stop_probe
    prev=$(now_ms)
    while :; do
      t_ha=$(now_ms); st=$(probe_status)
      [ "$st" = DOWN ] && break
      prev=$t_ha
      sleep 0.05
    done
    ts="" end=$(( $(date +%s) + 60 ))
    while [ -z "$ts" ] && [ "$(date +%s)" -lt "$end" ]; do
      ts=$(down_event_ts "$seq"); [ -n "$ts" ] || sleep 0.05
    done
    [ -n "$ts" ] || { say "  $1 rep $r: no server_state_changed to down within 60 s"; continue; }
    ev=$(date -d "$ts" +%s%3N)
    say "  $1 rep $r: HAProxy DOWN seen at +0 ms (flip within the last $((t_ha - prev)) ms), our event ts +$((ev - t_ha)) ms"
    echo "$((ev - t_ha)) $((ev - prev))"
  done
  say "  $1 at 1 s, after the runs: $(api /api/health | jq -c .targets)"
  api /api/haproxy/backends | jq -r '.backends[].last_fetch_error // empty' \
    | sed -E 's/[0-9]+/N/g' | sort | uniq -c | sed 's/^/    errors: /' >&2
  stop_wp
}

say "HAProxy $("$HAPROXY" -v | head -1 | awk '{ print $3 }'), N=$N backends x 4 servers, temp dir $W"
start_probe
start_haproxy
wait_until 60 probe_is UP
sleep 2 # let the start settle before measuring idle CPU
i0=$(cpu_ms "$HA_PID"); sleep 10; i1=$(cpu_ms "$HA_PID")
idle=$(awk -v a="$i0" -v b="$i1" 'BEGIN { printf "%.1f", (b - a) / 10 }')
read -r ss_t ss_n ss_b < <(measure full_show_stat)
read -r sp_t sp_n sp_b < <(measure stats_page)
say "show stat: ${ss_t} ms (ticks) / ${ss_n} ms (schedstat), ${ss_b} bytes; stats page: ${sp_t} / ${sp_n} ms, ${sp_b} bytes"
# (Results go through files: a $(...) or <(...) subshell would lose the pids.)
polling_run socket > "$W/run-socket"
read -r so_h so_hn so_c so_r so_w so_wp so_m so_st so_sc < "$W/run-socket"
say "socket run: $so_h ms/cycle ($so_hn), $so_c cycles, $so_r req/cycle, watchpost $so_w ms ($so_wp %), VmHWM $so_m kB"
polling_run stats > "$W/run-stats"
read -r st_h st_hn st_c st_r st_w st_wp st_m st_st st_sc < "$W/run-stats"
say "stats run: $st_h ms/cycle ($st_hn), $st_c cycles, $st_r req/cycle, watchpost $st_w ms ($st_wp %), VmHWM $st_m kB"
delay_run socket > "$W/delay-socket"
delay_run stats > "$W/delay-stats"
mapfile -t d_sock < "$W/delay-socket"
mapfile -t d_stats < "$W/delay-stats"

stat3() { [ $# -gt 0 ] || { echo "n/a"; return; }; echo "$(printf '%s\n' "$@" | awk '{ print $1 }' | median) ms"; }
rng3() { [ $# -gt 0 ] || { echo "n/a"; return; }; echo "$(printf '%s\n' "$@" | awk '{ print $1 }' | minmax) ms"; }
row() { printf '| %-50s | %-20s | %-20s |\n' "$@"; }
echo
echo "watchpost against HAProxy 2.6: N=$N backends x 4 servers (no check), nbthread 1, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
row "measurement" "socket source" "stats source"
row "--------------------------------------------------" "--------------------" "--------------------"
row "HAProxy CPU, one full read, median of 20 (ticks)" "${ss_t} ms" "${sp_t} ms"
row "  same, on-CPU time (schedstat)" "${ss_n} ms" "${sp_n} ms"
row "  answer size (show stat / ;csv;norefresh)" "${ss_b} B" "${sp_b} B"
row "HAProxy idle CPU (probe checks only)" "${idle} ms/s" "${idle} ms/s"
row "startup: all $((N + 1)) targets read after" "${so_st} s" "${st_st} s"
row "  watchpost CPU during the startup" "${so_sc} ms" "${st_sc} ms"
row "run at interval 5 s for ${RUN_S} s: poll cycles" "${so_c}" "${st_c}"
row "HAProxy CPU per poll cycle (ticks)" "${so_h} ms" "${st_h} ms"
row "  same, schedstat" "${so_hn} ms" "${st_hn} ms"
row "  requests HAProxy served per cycle" "${so_r}" "${st_r}"
row "watchpost CPU over the run (% of one core)" "${so_w} ms (${so_wp} %)" "${st_w} ms (${st_wp} %)"
row "watchpost peak RSS (VmHWM)" "${so_m} kB" "${st_m} kB"
row "DOWN delay (interval 1 s; inter 1s fall 3): median" "$(stat3 "${d_sock[@]}")" "$(stat3 "${d_stats[@]}")"
row "  min / max ($(( ${#d_sock[@]} )) / $(( ${#d_stats[@]} )) of $REPS runs)" "$(rng3 "${d_sock[@]}")" "$(rng3 "${d_stats[@]}")"
echo
echo "DOWN delay = ts of our server_state_changed event - first 50 ms poll of show stat that saw DOWN"
echo "(HAProxy flipped up to one poll earlier, so add up to ~50 ms). Per run (delay, delay from the poll before):"
printf '  socket: %s\n' "${d_sock[*]}"
printf '  stats:  %s\n' "${d_stats[*]}"
