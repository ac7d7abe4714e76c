#!/bin/bash
# netbench.sh - the network part of "make bench": omx_perf between two network
# namespaces joined by a veth pair, at MTU 9000 and 1500, for 0 B to 4 MiB,
# printed beside the raw AF_PACKET ceiling measured on the same veth by rawpp
# (a plain C ping-pong, compiled here from RAWPP_SRC; nothing of it is kept).
#
# Both programs run under the same conditions, those of the reference numbers
# (bench/PEERS.md): the ping side (omx_perf client, rawpp ping) in namespace A
# pinned to CPU 0, the pong side (omx_perf server, rawpp pong) in namespace B
# pinned to CPU 1, both busy-polling (omx_perf polls omx_test; rawpp uses
# recv(MSG_DONTWAIT), "-m poll"), about NETBENCH_T seconds measured per size
# after a warm-up of at least 5 % of that, and a symmetric ping-pong (every
# message is answered by one of the same length, rawpp -S), so both report
# half the round trip in µs and payload MB/s (10^6 B/s) the same way. The two
# are measured size by size, one after the other, so that a change of the
# machine's load hits both columns; the tables (Markdown) show the median of
# the repetitions for each point.
#
# Usage (as root; otherwise it says so and exits 0):
#   tests/bench/netbench.sh
# Environment (defaults):
#   OMX_PERF=build/bin/omx_perf   the omx_perf binary (built by "make")
#   RAWPP_SRC=../shared/bench/rawpp/rawpp.c   without it, no raw column
#   RAWPP_OPTS="-m poll"          rawpp receive/send options (see rawpp.c)
#   NETBENCH_MTUS="9000 1500"     NETBENCH_SIZES="0 1 2 4 ... 4194304"
#   NETBENCH_T=0.3                seconds measured per size and program
#   NETBENCH_REPS=1               repetitions (interleaved); tables show medians
#   NETBENCH_OUT=build/bench      where netbench.tsv (every point) and
#                                 netbench.txt (the tables) are written
#   CC=cc
# The defaults are relative to the repository root (the script's ../..),
# paths given in the environment to the current directory.
#
# Every name it creates carries its PID (namespaces omxnb<pid>A/B, veth
# omxnb<pid>a/b); the namespaces, and with them the veth pair, are deleted at
# exit, and only the processes it started are stopped.
set -u
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
[ -n "${OMX_PERF:-}" ] && OMX_PERF=$(abs "$OMX_PERF")
[ -n "${RAWPP_SRC:-}" ] && RAWPP_SRC=$(abs "$RAWPP_SRC")
[ -n "${NETBENCH_OUT:-}" ] && NETBENCH_OUT=$(abs "$NETBENCH_OUT")
cd "$(dirname "$0")/../.." || exit 1

OMX_PERF=${OMX_PERF:-build/bin/omx_perf}
RAWPP_SRC=${RAWPP_SRC:-../shared/bench/rawpp/rawpp.c}
RAWPP_OPTS=${RAWPP_OPTS:--m poll}
read -ra RAWOPTS <<<"$RAWPP_OPTS"
MTUS=${NETBENCH_MTUS:-9000 1500}
T=${NETBENCH_T:-0.3}
REPS=${NETBENCH_REPS:-1}
OUT=${NETBENCH_OUT:-build/bench}
CC=${CC:-cc}
if [ -n "${NETBENCH_SIZES:-}" ]; then
	SIZES=$NETBENCH_SIZES
else
	SIZES=0
	for ((s = 1; s <= 4194304; s *= 2)); do SIZES="$SIZES $s"; done
fi

say() { echo "netbench: $*"; }

if [ "$(id -u)" != 0 ]; then
	echo "skipping network benchmark: needs root (network namespaces and AF_PACKET sockets)"
	exit 0
fi
for c in ip timeout awk; do
	if ! command -v "$c" >/dev/null; then
		echo "skipping network benchmark: needs the '$c' command"
		exit 0
	fi
done
if [ ! -x "$OMX_PERF" ]; then
	say "$OMX_PERF not found: run make first" >&2
	exit 1
fi

TAG=omxnb$$
NA=${TAG}A NB=${TAG}B VA=${TAG}a VB=${TAG}b
HA=${TAG}-a HB=${TAG}-b # Open-MX hostnames of the two sides
TMP=$(mktemp -d /tmp/netbench.XXXXXX) || exit 1
declare -A RUNNING # PIDs of the processes started here and not yet waited for
MADE_NS=()

cleanup() {
	local p n
	for p in "${!RUNNING[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${!RUNNING[@]}"; do wait "$p" 2>/dev/null; done
	for n in "${MADE_NS[@]}"; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# Pinning as in PEERS.md: ping on CPU 0, pong on CPU 1 (none with one CPU).
PIN0=() PIN1=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	PIN0=(taskset -c 0) PIN1=(taskset -c 1)
fi

# ---------------- setup ----------------
make_ns() {
	ip netns add "$1" 2>"$TMP/ns.err" || return 1
	MADE_NS+=("$1")
}
if ! make_ns "$NA" || ! make_ns "$NB"; then
	echo "skipping network benchmark: cannot create network namespaces ($(head -1 "$TMP/ns.err"))"
	exit 0
fi
# The pair is created inside A with its peer end in B: it only ever exists
# in the namespaces made here, and goes away with them.
if ! ip -n "$NA" link add "$VA" type veth peer name "$VB" netns "$NB"; then
	say "cannot create the veth pair" >&2
	exit 1
fi
ip -n "$NA" link set lo up
ip -n "$NB" link set lo up
MACA=$(ip netns exec "$NA" cat "/sys/class/net/$VA/address")
MACB=$(ip netns exec "$NB" cat "/sys/class/net/$VB/address")
mkdir -p "$TMP/runA" "$TMP/runB"
printf '%s %s:0\n%s %s:0\n' "$MACA" "$HA" "$MACB" "$HB" >"$TMP/peers"

set_mtu() {
	local i
	ip -n "$NA" link set "$VA" mtu "$1" up && ip -n "$NB" link set "$VB" mtu "$1" up || exit 1
	for ((i = 0; i < 100; i++)); do # wait for both carriers
		[ "$(ip netns exec "$NA" cat "/sys/class/net/$VA/operstate")" = up ] &&
			[ "$(ip netns exec "$NB" cat "/sys/class/net/$VB/operstate")" = up ] && break
		sleep 0.05
	done
	sleep 0.2
}

RAWPP=
if [ -f "$RAWPP_SRC" ]; then
	if "$CC" -O2 -o "$TMP/rawpp" "$RAWPP_SRC" 2>"$TMP/rawpp.err"; then
		RAWPP=$TMP/rawpp
	else
		say "cannot compile $RAWPP_SRC:" >&2
		cat "$TMP/rawpp.err" >&2
		exit 1
	fi
fi

mkdir -p "$OUT" || exit 1
RES=$OUT/netbench.tsv # rep, mtu, system, size, latency µs, MB/s
: >"$RES"
FAILED=0

# start_bg NS CMD...: start CMD in namespace NS in the background; its PID
# (that of timeout, which ip and env exec into) is in BGPID and RUNNING.
start_bg() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@" &
	BGPID=$!
	RUNNING[$BGPID]=1
}
# reap PID: wait for it, return its status.
reap() {
	local rc=0
	wait "$1" || rc=$?
	unset "RUNNING[$1]"
	return $rc
}
stop() { kill "$1" 2>/dev/null; reap "$1" 2>/dev/null; }
# run_fg NS CMD...: run CMD in NS and wait for it; in the background, so that
# a signal ends the wait at once and the trap stops it (timeout runs its
# command in a process group of its own, out of reach of ^C).
run_fg() {
	start_bg "$@"
	reap "$BGPID"
}

# ---------------- raw ceiling: rawpp ----------------
# raw_size REP MTU SIZE: one rawpp pong in B and ping in A for one size (the
# ping does its own 0.2 s warm-up of empty round trips first).
raw_size() {
	local log=$TMP/raw.$1.$2.$3 pong
	start_bg "$NB" timeout 120 "${PIN1[@]}" "$RAWPP" -i "$VB" -r pong -S "${RAWOPTS[@]}" >"$log.pong" 2>&1
	pong=$BGPID
	sleep 0.15
	if ! run_fg "$NA" timeout 120 "${PIN0[@]}" "$RAWPP" -i "$VA" -r ping -d "$MACB" -S \
		-T "$T" "${RAWOPTS[@]}" "$3" >"$log" 2>&1; then
		say "rawpp failed at MTU $2, $3 bytes:" >&2
		cat "$log" "$log.pong" >&2
		FAILED=1
	fi
	stop "$pong"
	# bytes frames iters lat_us iter_us MB/s frames/s timeouts lost
	awk -v R="$1" -v M="$2" '!/^#/ && NF >= 7 { print R "\t" M "\traw\t" $1 "\t" $4 "\t" $6 }' "$log" >>"$RES"
}

# ---------------- open-mx-go: omx_perf ----------------
# omx_env SIDE: the environment of omx_perf as host A (client, ping) or B
# (server, pong).
omx_env() {
	if [ "$1" = A ]; then
		echo "OMX_IFNAMES=$VA OMX_HOSTNAME=$HA OMX_RUNDIR=$TMP/runA OMX_PEERS_FILE=$TMP/peers"
	else
		echo "OMX_IFNAMES=$VB OMX_HOSTNAME=$HB OMX_RUNDIR=$TMP/runB OMX_PEERS_FILE=$TMP/peers"
	fi
}

# omx_pair LOG SECS CLIENT-ARGS...: one server in B, one client in A; the
# client's output goes to LOG. Fails if either fails.
omx_pair() {
	local log=$1 secs=$2 server i rc=0
	shift 2
	: >"$log.server"
	# shellcheck disable=SC2046 # word splitting of omx_env is wanted
	start_bg "$NB" env $(omx_env B) timeout "$secs" "${PIN1[@]}" "$OMX_PERF" >"$log.server" 2>&1
	server=$BGPID
	for ((i = 0; i < 500; i++)); do
		grep -q '^Starting receiver' "$log.server" && break
		kill -0 "$server" 2>/dev/null || break
		sleep 0.01
	done
	if ! grep -q '^Starting receiver' "$log.server"; then
		stop "$server"
		return 1
	fi
	# shellcheck disable=SC2046
	run_fg "$NA" env $(omx_env A) timeout "$secs" "${PIN0[@]}" "$OMX_PERF" -d "$HB:0" -P 0 "$@" \
		>"$log" 2>&1 || rc=1
	reap "$server" || rc=1
	return $rc
}

# omx_calibrate REP MTU: a few round trips of every size, to size the real
# runs (omx_perf takes a number of iterations, not a time).
omx_calibrate() {
	CAL=$TMP/omx.$1.$2.cal
	if ! omx_pair "$CAL" 120 -S 0 -E 4194305 -N 20 -W 5; then
		say "omx_perf calibration failed at MTU $2:" >&2
		tail -5 "$CAL" "$CAL.server" >&2
		FAILED=1
	fi
}

# omx_size REP MTU SIZE: one server and client for one size, with about T
# seconds of round trips after a warm-up of 5 % of them (at least 10).
omx_size() {
	local log=$TMP/omx.$1.$2.$3 lat n w secs
	lat=$(awk -v S="$3" '$1 == "length" && $2 == S ":" { print $3 }' "$CAL")
	n=$(awk -v T="$T" -v L="${lat:-1000}" 'BEGIN { n = int(T * 1e6 / (2 * (L > 0.5 ? L : 0.5)));
		print n < 20 ? 20 : n }')
	w=$((n / 20 > 10 ? n / 20 : 10))
	secs=$(awk -v T="$T" 'BEGIN { print int(T * 20) + 60 }')
	if ! omx_pair "$log" "$secs" -S "$3" -E $(($3 + 1)) -N "$n" -W "$w"; then
		say "omx_perf failed at MTU $2, $3 bytes:" >&2
		tail -5 "$log" "$log.server" >&2
		FAILED=1
		printf '%s\t%s\tomx\t%s\tFAIL\tFAIL\n' "$1" "$2" "$3" >>"$RES"
		return
	fi
	# length %9lld:\t%.3f us\t%.2f MB/s\t %.2f MiB/s
	awk -v R="$1" -v M="$2" '$1 == "length" { s = $2; sub(":", "", s); print R "\t" M "\tomx\t" s "\t" $3 "\t" $5 }' \
		"$log" >>"$RES"
}

# ---------------- tables ----------------
# Medians over the repetitions, one aligned (Markdown) table per MTU.
tables() {
	awk -F'\t' -v MTUS="$MTUS" -v SIZES="$SIZES" '
	function median(key,   n, i, j, v, t) {
		n = cnt[key]
		if (n == 0) return "-"
		for (i = 1; i <= n; i++) v[i] = val[key, i]
		for (i = 1; i <= n; i++) if (v[i] == "FAIL") return "FAIL"
		for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
		return n % 2 ? v[(n + 1) / 2] + 0 : (v[n / 2] + v[n / 2 + 1]) / 2
	}
	function add(key, x) { val[key, ++cnt[key]] = x }
	function fmt(x, d) { return (x == "-" || x == "FAIL") ? x : sprintf("%." d "f", x) }
	function human(s) {
		if (s >= 1048576 && s % 1048576 == 0) return s / 1048576 " MiB"
		if (s >= 1024 && s % 1024 == 0) return s / 1024 " KiB"
		return s " B"
	}
	{ add($2 SUBSEP $3 SUBSEP $4 SUBSEP "lat", $5); add($2 SUBSEP $3 SUBSEP $4 SUBSEP "bw", $6) }
	END {
		nm = split(MTUS, mtu, " "); ns = split(SIZES, size, " ")
		for (m = 1; m <= nm; m++) {
			M = mtu[m]
			printf "\nMTU %d\n\n", M
			# (µ is two bytes: one more column of width for its cells)
			printf "| %8s | %17s | %11s | %15s | %9s |\n", "size", "open-mx-go µs", "raw µs", "open-mx-go MB/s", "raw MB/s"
			printf "|---------:|-----------------:|-----------:|----------------:|----------:|\n"
			for (i = 1; i <= ns; i++) {
				S = size[i]
				printf "| %8s | %16s | %10s | %15s | %9s |\n", human(S),
					fmt(median(M SUBSEP "omx" SUBSEP S SUBSEP "lat"), 2),
					fmt(median(M SUBSEP "raw" SUBSEP S SUBSEP "lat"), 2),
					fmt(median(M SUBSEP "omx" SUBSEP S SUBSEP "bw"), 1),
					fmt(median(M SUBSEP "raw" SUBSEP S SUBSEP "bw"), 1)
			}
		}
	}' "$RES"
}

# ---------------- main ----------------
{
	echo "network benchmark: omx_perf vs raw AF_PACKET (rawpp), veth between two namespaces"
	echo "machine: nproc $(nproc), cpu$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), kernel $(uname -r)"
	echo "conditions: ping on CPU 0, pong on CPU 1$([ ${#PIN0[@]} = 0 ] && echo " (not pinned: one CPU)"), busy-polling, symmetric ping-pong," \
		"~$T s per size, median of $REPS run(s); latency = half round trip, MB/s = 10^6 B/s of payload"
	if [ -n "$RAWPP" ]; then
		echo "raw: rawpp -S $RAWPP_OPTS (from $RAWPP_SRC)"
	else
		echo "raw: skipped, $RAWPP_SRC not found (set RAWPP_SRC to rawpp.c for the ceiling column)"
	fi
} | tee "$OUT/netbench.txt"
for ((rep = 1; rep <= REPS; rep++)); do
	for mtu in $MTUS; do
		say "run $rep/$REPS, MTU $mtu" >&2
		set_mtu "$mtu"
		omx_calibrate "$rep" "$mtu"
		# size by size, the raw ceiling then open-mx-go: both see the
		# same conditions (the machine's load may change over a run)
		for s in $SIZES; do
			[ -n "$RAWPP" ] && raw_size "$rep" "$mtu" "$s"
			omx_size "$rep" "$mtu" "$s"
		done
	done
done
tables | tee -a "$OUT/netbench.txt"
echo "(every point: $RES)"
if [ "$FAILED" != 0 ]; then
	say "some runs failed, see above" >&2
	exit 1
fi
