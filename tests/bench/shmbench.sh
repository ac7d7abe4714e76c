#!/bin/bash
# shmbench.sh - the same-host part of "make bench": omx_perf between two
# processes of this host (shared memory, the loopback board, a private
# OMX_RUNDIR), client pinned to CPU 0 and server to CPU 1, busy-polling,
# 0 B to 4 MiB, printed beside the intra-host reference numbers measured on
# this machine for Open MPI (vader, CMA single copy, pinned) and libfabric
# (shm provider, rdm, pinned), taken from ../shared/bench/PEERS.md. No
# privilege needed. Latency = half round trip in µs, MB/s = 10^6 B/s of
# payload, both as omx_perf reports them; the table shows the median of
# SHMBENCH_REPS runs per size.
#
# Usage: tests/bench/shmbench.sh
# Environment (defaults):
#   OMX_PERF=build/bin/omx_perf   SHMBENCH_T=0.3 (seconds measured per size)
#   SHMBENCH_REPS=3               SHMBENCH_OUT=build/bench (shmbench.tsv, shmbench.txt)
#   SHMBENCH_SIZES="0 1 2 4 ... 4194304"
set -u
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
[ -n "${OMX_PERF:-}" ] && OMX_PERF=$(abs "$OMX_PERF")
[ -n "${SHMBENCH_OUT:-}" ] && SHMBENCH_OUT=$(abs "$SHMBENCH_OUT")
cd "$(dirname "$0")/../.." || exit 1

OMX_PERF=${OMX_PERF:-build/bin/omx_perf}
T=${SHMBENCH_T:-0.3}
REPS=${SHMBENCH_REPS:-3}
OUT=${SHMBENCH_OUT:-build/bench}
if [ -n "${SHMBENCH_SIZES:-}" ]; then
	SIZES=$SHMBENCH_SIZES
else
	SIZES=0
	for ((s = 1; s <= 4194304; s *= 2)); do SIZES="$SIZES $s"; done
fi

say() { echo "shmbench: $*"; }
if [ ! -x "$OMX_PERF" ]; then
	say "$OMX_PERF not found: run make first" >&2
	exit 1
fi
TMP=$(mktemp -d /tmp/shmbench.XXXXXX) || exit 1
SERVER=
cleanup() {
	[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

PIN0=() PIN1=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	PIN0=(taskset -c 0) PIN1=(taskset -c 1)
fi
ENV=(env OMX_IFNAMES=lo "OMX_RUNDIR=$TMP/run")

# pair LOG CLIENT-ARGS...: one server (CPU 1) and one client (CPU 0).
pair() {
	local log=$1 i rc=0
	shift
	: >"$log.server"
	"${ENV[@]}" timeout 300 "${PIN1[@]}" "$OMX_PERF" >"$log.server" 2>&1 &
	SERVER=$!
	for ((i = 0; i < 500; i++)); do
		grep -q '^Starting receiver' "$log.server" && break
		kill -0 "$SERVER" 2>/dev/null || break
		sleep 0.01
	done
	if ! grep -q '^Starting receiver' "$log.server"; then
		kill "$SERVER" 2>/dev/null
		wait "$SERVER" 2>/dev/null
		SERVER=
		return 1
	fi
	"${ENV[@]}" timeout 300 "${PIN0[@]}" "$OMX_PERF" -d localhost -P 0 "$@" >"$log" 2>&1 || rc=1
	wait "$SERVER" || rc=1
	SERVER=
	return $rc
}

mkdir -p "$OUT" || exit 1
RES=$OUT/shmbench.tsv # rep, size, latency µs, MB/s
: >"$RES"
FAILED=0

# A calibration run sizes the iteration counts (about T seconds per size).
CAL=$TMP/cal
if ! pair "$CAL" -S 0 -E 4194305 -N 20 -W 5; then
	say "calibration failed:" >&2
	tail -5 "$CAL" "$CAL.server" >&2
	exit 1
fi
for ((rep = 1; rep <= REPS; rep++)); do
	say "run $rep/$REPS" >&2
	for s in $SIZES; do
		lat=$(awk -v S="$s" '$1 == "length" && $2 == S ":" { print $3 }' "$CAL")
		n=$(awk -v T="$T" -v L="${lat:-1000}" 'BEGIN { n = int(T * 1e6 / (2 * (L > 0.2 ? L : 0.2)));
			print n < 20 ? 20 : (n > 500000 ? 500000 : n) }')
		w=$((n / 20 > 10 ? n / 20 : 10))
		log=$TMP/omx.$rep.$s
		if ! pair "$log" -S "$s" -E $((s + 1)) -N "$n" -W "$w"; then
			say "omx_perf failed at $s bytes:" >&2
			tail -5 "$log" "$log.server" >&2
			FAILED=1
			printf '%s\t%s\tFAIL\tFAIL\n' "$rep" "$s" >>"$RES"
			continue
		fi
		awk -v R="$rep" '$1 == "length" { s = $2; sub(":", "", s); print R "\t" s "\t" $3 "\t" $5 }' "$log" >>"$RES"
	done
done

{
	echo "same-host benchmark: omx_perf between two processes of this host (shared memory)"
	echo "machine: nproc $(nproc), cpu$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), kernel $(uname -r)"
	echo "conditions: client on CPU 0, server on CPU 1$([ ${#PIN0[@]} = 0 ] && echo " (not pinned)"), busy-polling," \
		"~$T s per size, median of $REPS run(s); latency = half round trip, MB/s = 10^6 B/s of payload"
	echo "references (../shared/bench/PEERS.md, same machine, pinned): Open MPI vader with CMA (btl vader,self)," \
		"libfabric shm provider (fi_pingpong rdm); '-' where PEERS.md has no point"
	echo "aim (issue 5): at most 0.5 µs at 0 B, at least 8000 MB/s at 4 MiB"
	awk -F'\t' -v SIZES="$SIZES" '
	function median(key,   n, i, j, v, t) {
		n = cnt[key]
		if (n == 0) return "-"
		for (i = 1; i <= n; i++) v[i] = val[key, i]
		for (i = 1; i <= n; i++) if (v[i] == "FAIL") return "FAIL"
		for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
		return n % 2 ? v[(n + 1) / 2] + 0 : (v[n / 2] + v[n / 2 + 1]) / 2
	}
	function fmt(x, d) { return (x == "-" || x == "FAIL") ? x : sprintf("%." d "f", x) }
	function ref(a, s) { return (s in a) ? a[s] : "-" }
	function human(s) {
		if (s >= 1048576 && s % 1048576 == 0) return s / 1048576 " MiB"
		if (s >= 1024 && s % 1024 == 0) return s / 1024 " KiB"
		return s " B"
	}
	BEGIN {
		# PEERS.md rows mpi-intra/vader-cma/pin and fi-shm-intra/rdm/pin
		vl[0] = "0.22"; vl[8] = "0.22"; vl[64] = "0.29"; vl[1024] = "0.64"; vl[4096] = "2.07"
		vb[4096] = "1891"; vb[32768] = "5294"; vb[262144] = "8361"; vb[1048576] = "8606"; vb[4194304] = "9046"
		fl[0] = "0.65"; fl[8] = "0.62"; fl[64] = "0.60"; fl[1024] = "0.95"; fl[4096] = "1.54"
		fb[4096] = "2667"; fb[32768] = "9725"; fb[262144] = "17319"; fb[1048576] = "9155"; fb[4194304] = "8901"
	}
	{ k = $2; val[k SUBSEP "lat", ++cnt[k SUBSEP "lat"]] = $3; val[k SUBSEP "bw", ++cnt[k SUBSEP "bw"]] = $4 }
	END {
		ns = split(SIZES, size, " ")
		# (µ is two bytes: one more column of width for its header cells)
		printf "\n| %8s | %17s | %15s | %15s | %14s | %12s | %11s |\n", "size", "open-mx-go µs", "open-mx-go MB/s",
			"MPI vader µs", "MPI vader MB/s", "fi shm µs", "fi shm MB/s"
		printf "|---------:|-----------------:|----------------:|---------------:|---------------:|------------:|------------:|\n"
		for (i = 1; i <= ns; i++) {
			S = size[i]
			printf "| %8s | %16s | %15s | %14s | %14s | %11s | %11s |\n", human(S),
				fmt(median(S SUBSEP "lat"), 2), fmt(median(S SUBSEP "bw"), 1),
				ref(vl, S), ref(vb, S), ref(fl, S), ref(fb, S)
		}
	}' "$RES"
} | tee "$OUT/shmbench.txt"
echo "(every point: $RES)"
if [ "$FAILED" != 0 ]; then
	say "some runs failed, see above" >&2
	exit 1
fi
