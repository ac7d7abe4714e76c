// Command backendforge is an application that misuses the node service's
// backend (tests/backend): run as an unprivileged user, it opens an
// endpoint through the service and either pushes forged frames into its
// send channel (forge) or listens on its receive channel (listen). It
// prints one JSON line.
//
//	backendforge forge  -socket S -board N -if IF -ep E -peer MAC
//	backendforge listen -socket S -board N -if IF -ep E -for DURATION
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/open-mx-go/open-mx-go/engine/link/backend"
	"github.com/open-mx-go/open-mx-go/engine/wire"
)

// Marker starts the payload of every forged frame, so that the test can
// recognize them on the wire.
const Marker = "FORGED"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: backendforge forge|listen [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	socket := fs.String("socket", "", "the service's socket")
	board := fs.Uint("board", 0, "board index")
	ifname := fs.String("if", "veth0", "board interface")
	ep := fs.Uint("ep", 0, "endpoint index to open")
	peer := fs.String("peer", "", "destination MAC (forge)")
	modeName := fs.String("mode", "native-9000", "wire mode")
	dur := fs.Duration("for", 3*time.Second, "how long to listen")
	fs.Parse(os.Args[2:])
	l, err := backend.Open(backend.Config{Socket: *socket, Board: uint32(*board), IfName: *ifname, Endpoint: uint8(*ep), Session: 0x1234, Command: "backendforge"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "backendforge:", err)
		os.Exit(1)
	}
	defer l.Close()
	mode, err := wire.ParseMode(*modeName)
	if err != nil {
		fmt.Fprintln(os.Stderr, "backendforge:", err)
		os.Exit(2)
	}
	out := map[string]any{}
	switch os.Args[1] {
	case "forge":
		hw, err := net.ParseMAC(*peer)
		if err != nil {
			fmt.Fprintln(os.Stderr, "backendforge: -peer:", err)
			os.Exit(2)
		}
		out["sent"] = forge(l, [6]byte(hw), uint8(*ep), mode)
		time.Sleep(500 * time.Millisecond) // let the service move them
	case "listen":
		out["frames"], out["foreign"] = listen(l, uint8(*ep), *dur)
	default:
		fmt.Fprintln(os.Stderr, "backendforge: unknown command", os.Args[1])
		os.Exit(2)
	}
	json.NewEncoder(os.Stdout).Encode(out)
}

// forge pushes one frame of each forbidden kind, then one allowed frame
// (the control, whose payload ends in "OK"). It returns the kinds sent.
func forge(l *backend.Link, peer [6]byte, ep uint8, m wire.Mode) []string {
	mac := l.MAC()
	payload := func(s string) []byte { return []byte(Marker + ":" + s) }
	enc := func(p interface {
		Encode([]byte, wire.Head, wire.Mode) (int, error)
	}, dst, src [6]byte) []byte {
		b := make([]byte, m.MTU)
		n, err := p.Encode(b, wire.Head{Dst: dst, Src: src}, m)
		if err != nil {
			panic(err)
		}
		return b[:n]
	}
	tiny := func(srcEP uint8, s string) *wire.Msg {
		d := payload(s)
		return &wire.Msg{Type: wire.TypeTiny, DstEP: 0, SrcEP: srcEP, Length: uint16(len(d)), Session: 1, Data: d}
	}
	var sent []string
	push := func(kind string, f []byte) {
		l.Send(f)
		sent = append(sent, kind)
	}
	push("other-endpoint", enc(tiny(ep+1, "other-endpoint"), peer, mac))
	push("spoofed-mac", enc(tiny(ep, "spoofed-mac"), peer, [6]byte{0x02, 0xde, 0xad, 0xbe, 0xef, 0x01}))
	push("broadcast", enc(tiny(ep, "broadcast"), [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, mac))
	ipv4 := append(append(append([]byte{}, peer[:]...), mac[:]...), 0x08, 0x00)
	push("not-open-mx", append(ipv4, payload("not-open-mx")...))
	raw := enc(tiny(ep, "raw-type"), peer, mac)
	raw[16] = byte(wire.TypeRaw)
	push("raw-type", raw)
	bad := enc(tiny(ep, "bad-length"), peer, mac)
	bad[20], bad[21] = 0xff, 0xff // a TINY length beyond the frame
	push("bad-length", bad)
	push("control", enc(tiny(ep, "OK"), peer, mac))
	return sent
}

// listen counts the frames received in d, and those not addressed to ep
// (by the link filter's rule).
func listen(l *backend.Link, ep uint8, d time.Duration) (frames, foreign int) {
	buf := make([]byte, 1<<16)
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		n, _ := l.Recv(buf)
		if n == 0 {
			l.Wait(100 * time.Millisecond)
			continue
		}
		frames++
		if !addressedTo(buf[:n], l.MAC(), ep) {
			foreign++
		}
	}
	return frames, foreign
}

func addressedTo(f []byte, mac [6]byte, ep uint8) bool {
	if len(f) < 32 || [6]byte(f[:6]) != mac {
		return false
	}
	switch t := wire.Type(f[16]); t {
	case wire.TypeHostQuery, wire.TypeHostReply:
		return true
	case wire.TypeNackLib:
		return f[25] == ep
	case wire.TypePullReply:
		return true // addressed by magic; the service's filter checks it
	default:
		return f[17] == ep
	}
}
