//go:build linux

package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/tests/testlib"
	"github.com/open-mx-go/open-mx-go/tools/internal/nodeinfo/nodeinfotest"

	"golang.org/x/sys/unix"

	"github.com/open-mx-go/open-mx-go/engine/wire"
)

// runFilter interprets the classic BPF subset serviceFilter uses.
func runFilter(t *testing.T, prog []unix.SockFilter, frame []byte, outgoing bool) bool {
	t.Helper()
	var a uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch in.Code {
		case bpfLdW:
			if in.K == adPktType {
				a = 0
				if outgoing {
					a = pktOutgo
				}
				continue
			}
			if int(in.K)+4 > len(frame) {
				return false
			}
			a = binary.BigEndian.Uint32(frame[in.K:])
		case bpfLdH:
			if int(in.K)+2 > len(frame) {
				return false
			}
			a = uint32(binary.BigEndian.Uint16(frame[in.K:]))
		case bpfLdB:
			if int(in.K)+1 > len(frame) {
				return false
			}
			a = uint32(frame[in.K])
		case bpfJeq:
			if a == in.K {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case bpfRet:
			return in.K != 0
		default:
			t.Fatalf("unexpected opcode %#x", in.Code)
		}
	}
	t.Fatal("program fell off its end")
	return false
}

var testMAC = [6]byte{2, 0, 0, 0, 0xaa, 1}

func frameOf(dst [6]byte, ptype, dstEP uint8) []byte {
	f := make([]byte, 60)
	copy(f, dst[:])
	copy(f[6:], []byte{2, 0, 0, 0, 0xbb, 1})
	binary.BigEndian.PutUint16(f[12:], 0x86DF)
	f[16], f[17] = ptype, dstEP
	return f
}

func TestServiceFilter(t *testing.T) {
	open := []uint8{0, 3}
	prog := serviceFilter(testMAC, open)
	other := [6]byte{2, 0, 0, 0, 0xcc, 1}
	tests := []struct {
		name     string
		frame    []byte
		outgoing bool
		want     bool
	}{
		{"host query", frameOf(testMAC, 3, 0), false, true},
		{"host reply", frameOf(testMAC, 4, 9), false, true},
		{"host query to another board", frameOf(other, 3, 0), false, false},
		{"broadcast raw", frameOf(wire.BroadcastMAC, 1, 0), false, false},
		{"connect to closed 5", frameOf(testMAC, 36, 5), false, true},
		{"connect to open 3", frameOf(testMAC, 36, 3), false, false},
		{"connect to open 0", frameOf(testMAC, 36, 0), false, false},
		{"tiny to closed 1", frameOf(testMAC, 37, 1), false, true},
		{"small to closed", frameOf(testMAC, 38, 31), false, true},
		{"medium to closed", frameOf(testMAC, 39, 2), false, true},
		{"rndv to closed", frameOf(testMAC, 40, 2), false, true},
		{"notify to closed", frameOf(testMAC, 43, 2), false, true},
		{"notify to open", frameOf(testMAC, 43, 3), false, false},
		{"out of range", frameOf(testMAC, 37, 200), false, true},
		{"truc is never nacked", frameOf(testMAC, 35, 5), false, false},
		{"pull is never nacked", frameOf(testMAC, 41, 5), false, false},
		{"nack lib", frameOf(testMAC, 44, 5), false, false},
		{"own outgoing frame", frameOf(testMAC, 36, 5), true, false},
	}
	for _, tt := range tests {
		if got := runFilter(t, prog, tt.frame, tt.outgoing); got != tt.want {
			t.Errorf("%s: accepted %v, want %v", tt.name, got, tt.want)
		}
	}
	bad := frameOf(testMAC, 36, 5)
	bad[12] = 0x08
	if runFilter(t, prog, bad, false) {
		t.Error("a frame of another EtherType was accepted")
	}
	// With every index open, only host frames and out-of-range indexes
	// (BAD_ENDPT) pass; the program stays valid (forward jumps < 256).
	all := make([]uint8, 256)
	for i := range all {
		all[i] = uint8(i)
	}
	full := serviceFilter(testMAC, all)
	if runFilter(t, full, frameOf(testMAC, 37, 5), false) || runFilter(t, full, frameOf(testMAC, 36, endpointMax-1), false) ||
		!runFilter(t, full, frameOf(testMAC, 37, 200), false) || !runFilter(t, full, frameOf(testMAC, 3, 0), false) {
		t.Error("filter with every index open is wrong")
	}
}

func TestNackInfo(t *testing.T) {
	req := frameOf(testMAC, 36, 5)
	req[18] = 2
	if d, s, seq, ok := nackInfo(wire.TypeConnect, req); !ok || d != 5 || s != 2 || seq != 0 {
		t.Errorf("connect request: %d %d %d %v", d, s, seq, ok)
	}
	rep := frameOf(testMAC, 36, 5)
	rep[42] = 1
	if _, _, _, ok := nackInfo(wire.TypeConnect, rep); ok {
		t.Error("a connect reply would be nacked")
	}
	tiny := frameOf(testMAC, 37, 4)
	tiny[18] = 1
	binary.BigEndian.PutUint16(tiny[24:], 0x1234)
	if d, s, seq, ok := nackInfo(wire.TypeTiny, tiny); !ok || d != 4 || s != 1 || seq != 0x1234 {
		t.Errorf("tiny: %d %d %#x %v", d, s, seq, ok)
	}
	notify := frameOf(testMAC, 43, 4)
	binary.BigEndian.PutUint16(notify[34:], 0x0777)
	if _, _, seq, ok := nackInfo(wire.TypeNotify, notify); !ok || seq != 0x0777 {
		t.Errorf("notify: seq %#x %v", seq, ok)
	}
	if _, _, _, ok := nackInfo(wire.TypeTiny, tiny[:30]); ok {
		t.Error("a short frame would be nacked")
	}
	if _, _, _, ok := nackInfo(wire.TypePull, frameOf(testMAC, 41, 4)); ok {
		t.Error("a PULL would be nacked")
	}
}

func TestPidFileLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "omxoed.pid")
	p, err := lockPidFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ready(); err != nil {
		t.Fatal(err)
	}
	if readPid(path) != os.Getpid() {
		t.Errorf("pid file holds %d", readPid(path))
	}
	if _, err := lockPidFile(path); err == nil || !strings.Contains(err.Error(), "another omxoed is running") {
		t.Errorf("second lock: %v", err)
	}
	p.remove()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("pid file not removed: %v", err)
	}
	p2, err := lockPidFile(path)
	if err != nil {
		t.Fatalf("lock after remove: %v", err)
	}
	p2.remove()
}

func buildTool(t *testing.T) string { return nodeinfotest.Build(t, "omxoed") }

func runTool(t *testing.T, bin string, env []string, args ...string) (string, string, int) {
	t.Helper()
	r := testlib.Run(t, time.Minute, env, bin, args...)
	return r.Stdout, r.Stderr, r.ExitCode
}

func TestCommandLine(t *testing.T) {
	bin := buildTool(t)
	run := t.TempDir()
	env := []string{"OMX_RUNDIR=" + run, "OMX_IFNAMES=lo", "OMX_CONFIG=/nonexistent"}

	_, se, code := runTool(t, bin, env, "-h")
	if code != 255 || !strings.HasPrefix(se, "Usage: omxoed [options]") || !strings.Contains(se, "no kernel module") {
		t.Errorf("-h: exit %d, stderr %q", code, se)
	}
	_, se, code = runTool(t, bin, env, "-x")
	if code != 255 || !strings.Contains(se, "omxoed: invalid option -- 'x'\nUnknown option -?\nUsage:") {
		t.Errorf("-x: exit %d, stderr %q", code, se)
	}
	_, se, code = runTool(t, bin, env, "-l")
	if code != 255 || !strings.Contains(se, "option requires an argument -- 'l'") {
		t.Errorf("-l: exit %d, stderr %q", code, se)
	}
	_, se, code = runTool(t, bin, env, "-f", "-d")
	if code != 255 || !strings.Contains(se, "exclude each other") {
		t.Errorf("-f -d: exit %d, stderr %q", code, se)
	}

	// Only the loopback board: nothing to manage.
	_, se, code = runTool(t, bin, env, "-f")
	if code != 1 || !strings.Contains(se, "No NICs found") {
		t.Errorf("no boards: exit %d, stderr %q", code, se)
	}
	if _, err := os.Stat(filepath.Join(run, pidFileName)); !os.IsNotExist(err) {
		t.Errorf("pid file left behind: %v", err)
	}
	logf := filepath.Join(run, "oed.log")
	_, _, code = runTool(t, bin, env, "-l", logf)
	if b, _ := os.ReadFile(logf); code != 1 || !strings.Contains(string(b), "No NICs found") {
		t.Errorf("no boards with a log file: exit %d, log %q", code, b)
	}
	_, se, code = runTool(t, bin, env, "-d", "-l", logf)
	if code != 1 || !strings.Contains(se, "the daemon exited early") {
		t.Errorf("-d without boards: exit %d, stderr %q", code, se)
	}

	// A held pid file: a second instance refuses before anything else.
	p, err := lockPidFile(filepath.Join(run, pidFileName))
	if err != nil {
		t.Fatal(err)
	}
	defer p.remove()
	p.ready()
	_, se, code = runTool(t, bin, env, "-f")
	if code != 1 || !strings.Contains(se, "omxoed: not starting: another omxoed is running (pid ") {
		t.Errorf("second instance: exit %d, stderr %q", code, se)
	}
}
