package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseMAC(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"00:11:22:33:44:55", 0x001122334455, true},
		{"ff:ff:ff:ff:ff:ff", 0xffffffffffff, true},
		{"AA:bB:0c:D:e:F0", 0xaabb0c0d0ef0, true},
		{"0:0:0:0:0:1", 1, true},
		{"00:11:22:33:44", 0, false},
		{"00:11:22:33:44:55:66", 0, false},
		{"00:11:22:33:44:555", 0, false},
		{"00:11:22:33::55", 0, false},
		{"00:11:22:33:44:5g", 0, false},
		{"00-11-22-33-44-55", 0, false},
		{"0x:11:22:33:44:55", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseMAC(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseMAC(%q) = %#x, %v; want %#x, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestFormatMAC(t *testing.T) {
	for nic, want := range map[uint64]string{
		0:              "00:00:00:00:00:00",
		0x0060dd47c475: "00:60:dd:47:c4:75",
		0xa0b0c0d0e0f0: "a0:b0:c0:d0:e0:f0",
	} {
		if got := FormatMAC(nic); got != want {
			t.Errorf("FormatMAC(%#x) = %q, want %q", nic, got, want)
		}
		back, err := ParseMAC(want)
		if err != nil || back != nic {
			t.Errorf("ParseMAC(FormatMAC(%#x)) = %#x, %v", nic, back, err)
		}
	}
}

func TestParsePeersFile(t *testing.T) {
	long := strings.Repeat("h", HostnameMax)
	tests := []struct {
		name     string
		in       string
		want     []Peer
		errLine  int    // 0: no error
		errText  string // the line reported
		errMatch string // substring of the reason
	}{
		{
			name: "spec example",
			in:   "# Open-MX static peers\n00:60:dd:47:c4:75 node1:0\n00:60:dd:47:c4:76 node2:0\n",
			want: []Peer{{0x0060dd47c475, "node1:0"}, {0x0060dd47c476, "node2:0"}},
		},
		{
			name: "empty file",
			in:   "",
			want: nil,
		},
		{
			name: "comments and empty lines",
			in:   "#\n\n# 00:11:22:33:44:55 commented\n\n01:02:03:04:05:06 a:0\n#x\n",
			want: []Peer{{0x010203040506, "a:0"}},
		},
		{
			name: "tabs, leading blanks and trailing words",
			in:   "\t00:11:22:33:44:55\t\tnodea:0   trailing words # here\n  01:02:03:04:05:06 nodeb:1\t\n",
			want: []Peer{{0x001122334455, "nodea:0"}, {0x010203040506, "nodeb:1"}},
		},
		{
			name: "uppercase hex and one-digit bytes",
			in:   "A0:B0:C:D0:E:F0 big:0\n",
			want: []Peer{{0xa0b00cd00ef0, "big:0"}},
		},
		{
			name: "CRLF line ends and no final newline",
			in:   "00:11:22:33:44:55 a:0\r\n01:02:03:04:05:06 b:0",
			want: []Peer{{0x001122334455, "a:0"}, {0x010203040506, "b:0"}},
		},
		{
			name: "duplicate address keeps first position and last name",
			in:   "00:00:00:00:00:01 one\n00:00:00:00:00:02 two\n00:00:00:00:00:01 uno\n",
			want: []Peer{{1, "uno"}, {2, "two"}},
		},
		{
			name: "host name of maximum length",
			in:   "00:11:22:33:44:55 " + long + "\n",
			want: []Peer{{0x001122334455, long}},
		},
		{
			name:     "bad address",
			in:       "# ok\n00:11:22:33:44:55 a:0\n00:11:22:33:44 b:0\n01:02:03:04:05:06 c:0\n",
			errLine:  3,
			errText:  "00:11:22:33:44 b:0",
			errMatch: "bad address",
		},
		{
			name:     "bad hex digit",
			in:       "00:11:22:33:44:zz a:0\n",
			errLine:  1,
			errText:  "00:11:22:33:44:zz a:0",
			errMatch: "bad address",
		},
		{
			name:     "missing host name",
			in:       "00:11:22:33:44:55\n",
			errLine:  1,
			errText:  "00:11:22:33:44:55",
			errMatch: "missing host name",
		},
		{
			name:     "host name too long",
			in:       "\n00:11:22:33:44:55 " + long + "x\n",
			errLine:  2,
			errText:  "00:11:22:33:44:55 " + long + "x",
			errMatch: "longer than 79",
		},
		{
			name:     "whitespace-only line",
			in:       "00:11:22:33:44:55 a:0\n \t\n",
			errLine:  2,
			errText:  " \t",
			errMatch: "blank",
		},
		{
			name:     "comment not in first column",
			in:       "  # indented comment\n",
			errLine:  1,
			errText:  "  # indented comment",
			errMatch: "bad address",
		},
		{
			name:     "name before address",
			in:       "node1:0 00:11:22:33:44:55\n",
			errLine:  1,
			errText:  "node1:0 00:11:22:33:44:55",
			errMatch: "bad address",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePeersFile([]byte(tt.in))
			if tt.errLine == 0 {
				if err != nil {
					t.Fatalf("ParsePeersFile: %v", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("peers mismatch (-want +got):\n%s", diff)
				}
				return
			}
			if got != nil {
				t.Errorf("ParsePeersFile returned peers %v with an error", got)
			}
			var le *LineError
			if !errors.As(err, &le) {
				t.Fatalf("ParsePeersFile error = %v, want a *LineError", err)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("error %v does not wrap ErrSyntax", err)
			}
			if le.Line != tt.errLine || le.Text != tt.errText || !strings.Contains(le.Reason, tt.errMatch) {
				t.Errorf("LineError = {Line %d, Text %q, Reason %q}; want line %d, text %q, reason containing %q",
					le.Line, le.Text, le.Reason, tt.errLine, tt.errText, tt.errMatch)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("line %d", tt.errLine)) {
				t.Errorf("error text %q does not name line %d", err, tt.errLine)
			}
		})
	}
}

func TestLoadPeersFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "peers")
	if err := os.WriteFile(good, []byte("00:11:22:33:44:55 a:0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := LoadPeersFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Peer{{0x001122334455, "a:0"}}, got); diff != "" {
		t.Errorf("peers mismatch (-want +got):\n%s", diff)
	}

	if _, err := LoadPeersFile(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: error %v, want fs.ErrNotExist", err)
	}

	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("junk\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadPeersFile(bad)
	var le *LineError
	if !errors.As(err, &le) || le.Line != 1 || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad file: error %v, want a *LineError for line 1 naming the file", err)
	}
}

func TestPeerTable(t *testing.T) {
	local := []Peer{{0x0a, "me:0"}, {0x0b, "me:1"}}
	peers := []Peer{
		{0x10, "other:0"},
		{0x0b, "renamed:1"}, // a local board listed in the file: renamed, no new index
		{0x11, "third:0"},
		{0x12, ""}, // unknown name
	}
	tab := NewPeerTable(local, peers)

	want := []Peer{{0x0a, "me:0"}, {0x0b, "renamed:1"}, {0x10, "other:0"}, {0x11, "third:0"}, {0x12, ""}}
	if diff := cmp.Diff(want, tab.All()); diff != "" {
		t.Fatalf("All mismatch (-want +got):\n%s", diff)
	}
	if tab.Len() != len(want) {
		t.Errorf("Len = %d, want %d", tab.Len(), len(want))
	}
	for i, p := range want {
		idx, ok := tab.Index(p.NICID)
		if !ok || idx != uint16(i) {
			t.Errorf("Index(%#x) = %d, %v; want %d", p.NICID, idx, ok, i)
		}
		got, ok := tab.ByIndex(uint16(i))
		if !ok || got != p {
			t.Errorf("ByIndex(%d) = %v, %v; want %v", i, got, ok, p)
		}
	}
	if _, ok := tab.Index(0x99); ok {
		t.Error("Index of an unknown address succeeded")
	}
	if _, ok := tab.ByIndex(uint16(len(want))); ok {
		t.Error("ByIndex past the end succeeded")
	}
	if p, ok := tab.ByName("third:0"); !ok || p.NICID != 0x11 {
		t.Errorf("ByName(third:0) = %v, %v", p, ok)
	}
	for _, name := range []string{"", "me:1", "nobody"} {
		if p, ok := tab.ByName(name); ok {
			t.Errorf("ByName(%q) = %v, want not found", name, p)
		}
	}

	// Add: new peers go at the end; known ones keep their index.
	if idx := tab.Add(Peer{0x13, "fourth:0"}); idx != 5 {
		t.Errorf("Add(new) = %d, want 5", idx)
	}
	if idx := tab.Add(Peer{0x12, "named:0"}); idx != 4 {
		t.Errorf("Add(rename) = %d, want 4", idx)
	}
	if p, _ := tab.ByIndex(4); p.Hostname != "named:0" {
		t.Errorf("after rename, entry 4 = %v", p)
	}
	if idx := tab.Add(Peer{0x12, ""}); idx != 4 {
		t.Errorf("Add(no name) = %d, want 4", idx)
	}
	if p, _ := tab.ByIndex(4); p.Hostname != "named:0" {
		t.Errorf("an empty name erased a known one: entry 4 = %v", p)
	}
	if tab.Full() {
		t.Error("Full before the table is full")
	}

	// All returns a copy.
	all := tab.All()
	all[0].Hostname = "changed"
	if p, _ := tab.ByIndex(0); p.Hostname != "me:0" {
		t.Error("All does not return a copy")
	}
}

func TestPeerTableFull(t *testing.T) {
	tab := NewPeerTable(nil, nil)
	for i := range PeerMax {
		if idx := tab.Add(Peer{NICID: uint64(i + 1)}); idx != uint16(i) {
			t.Fatalf("Add #%d = %d", i, idx)
		}
	}
	if tab.Full() {
		t.Fatal("Full with exactly PeerMax entries")
	}
	if idx := tab.Add(Peer{NICID: 1, Hostname: "known"}); idx != 0 {
		t.Errorf("renaming in a full table = %d, want 0", idx)
	}
	if idx := tab.Add(Peer{NICID: 1 << 40}); idx != NoIndex {
		t.Errorf("Add to a full table = %d, want NoIndex", idx)
	}
	if !tab.Full() || tab.Len() != PeerMax {
		t.Errorf("Full = %v, Len = %d; want true, %d", tab.Full(), tab.Len(), PeerMax)
	}
	if _, ok := tab.Index(1 << 40); ok {
		t.Error("the refused peer is in the table")
	}
}

func TestPeerTableConcurrent(t *testing.T) {
	tab := NewPeerTable([]Peer{{1, "local:0"}}, nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				nic := uint64(100 + i)
				idx := tab.Add(Peer{NICID: nic, Hostname: fmt.Sprintf("n%d:%d", i, g)})
				if got, ok := tab.Index(nic); !ok || got != idx {
					t.Errorf("Index(%d) = %d, %v after Add returned %d", nic, got, ok, idx)
				}
				tab.ByName("local:0")
				tab.All()
			}
		})
	}
	wg.Wait()
	if tab.Len() != 51 {
		t.Errorf("Len = %d, want 51 (concurrent adds of one address must share an index)", tab.Len())
	}
}

func TestPublishedPeerTableRoundTrip(t *testing.T) {
	runDir := filepath.Join(t.TempDir(), "run")
	peers := []Peer{{0, "localhost"}, {0x0060dd47c475, "node1:0"}, {0xa0b0c0d0e0f0, ""}, {0x010203040506, strings.Repeat("x", HostnameMax)}}
	if err := WritePeerTable(runDir, peers); err != nil {
		t.Fatal(err)
	}
	got, mtime, err := ReadPeerTable(runDir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(peers, got); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
	fi, err := os.Stat(filepath.Join(runDir, PeerTableFile))
	if err != nil {
		t.Fatal(err)
	}
	if !mtime.Equal(fi.ModTime()) {
		t.Errorf("mtime = %v, want %v", mtime, fi.ModTime())
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, want 0644", fi.Mode().Perm())
	}

	// Admin-readable: the named entries parse as a peers file.
	data, err := os.ReadFile(filepath.Join(runDir, PeerTableFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "\n00:60:dd:47:c4:75 node1:0\n") || !strings.Contains(string(data), "\na0:b0:c0:d0:e0:f0\n") {
		t.Errorf("unexpected file contents:\n%s", data)
	}

	// No temporary file is left behind.
	entries, err := os.ReadDir(runDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("run dir holds %d entries, want only %s", len(entries), PeerTableFile)
	}

	// Replacing the table.
	if err := WritePeerTable(runDir, peers[:1]); err != nil {
		t.Fatal(err)
	}
	if got, _, err := ReadPeerTable(runDir); err != nil || len(got) != 1 {
		t.Errorf("after rewrite: %v, %v", got, err)
	}
}

func TestPublishedPeerTableErrors(t *testing.T) {
	runDir := t.TempDir()
	if _, _, err := ReadPeerTable(runDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing table: %v, want fs.ErrNotExist", err)
	}
	for _, p := range []Peer{{1, strings.Repeat("y", HostnameMax+1)}, {1, "two words"}, {1, "tab\tname"}} {
		if err := WritePeerTable(runDir, []Peer{p}); err == nil {
			t.Errorf("WritePeerTable(%q) succeeded", p.Hostname)
		}
	}
	if _, err := os.Stat(filepath.Join(runDir, PeerTableFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused table was published: %v", err)
	}
	if err := os.WriteFile(filepath.Join(runDir, PeerTableFile), []byte("junk line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadPeerTable(runDir); !errors.Is(err, ErrSyntax) {
		t.Errorf("corrupt table: %v, want ErrSyntax", err)
	}
}

func TestWatcher(t *testing.T) {
	runDir := t.TempDir()
	w := NewWatcher(runDir)

	poll := func(wantChanged bool, want []Peer, wantErr bool) {
		t.Helper()
		got, changed, err := w.Poll()
		if (err != nil) != wantErr {
			t.Fatalf("Poll error = %v, want error: %v", err, wantErr)
		}
		if changed != wantChanged {
			t.Errorf("Poll changed = %v, want %v", changed, wantChanged)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Poll peers mismatch (-want +got):\n%s", diff)
		}
	}

	poll(false, nil, false) // absent from the start
	a := []Peer{{1, "a:0"}}
	if err := WritePeerTable(runDir, a); err != nil {
		t.Fatal(err)
	}
	poll(true, a, false)
	poll(false, nil, false)

	// Same size, same contents length, written again: still a new file.
	b := []Peer{{1, "b:0"}}
	if err := WritePeerTable(runDir, b); err != nil {
		t.Fatal(err)
	}
	poll(true, b, false)
	poll(false, nil, false)

	// In-place modification with a new mtime.
	path := filepath.Join(runDir, PeerTableFile)
	if err := os.WriteFile(path, []byte("00:00:00:00:00:02 c:0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(path, future, future); err != nil {
		t.Fatal(err)
	}
	poll(true, []Peer{{2, "c:0"}}, false)

	// A corrupt table is reported, and retried until fixed.
	if err := os.WriteFile(path, []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, future.Add(time.Hour), future.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	poll(true, nil, true)
	poll(true, nil, true)
	if err := WritePeerTable(runDir, a); err != nil {
		t.Fatal(err)
	}
	poll(true, a, false)

	// Removal.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	poll(true, nil, false)
	poll(false, nil, false)
}
