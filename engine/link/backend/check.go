package backend

import (
	"fmt"

	"github.com/open-mx-go/open-mx-go/engine/link"
	"github.com/open-mx-go/open-mx-go/engine/wire"
)

// CheckFrame decides whether the application that opened endpoint ep of a
// board (MAC mac, frames of at most mtu bytes, wire mode m) may send frame:
// a unicast Open-MX frame from the board's MAC, of a packet type endpoints
// send, whose lengths decode, and that names ep as its source where the
// packet type has one. It returns "" when the frame may go, else why not.
func CheckFrame(frame []byte, mac [6]byte, ep uint8, mtu int, m wire.Mode) string {
	if len(frame) > mtu {
		return fmt.Sprintf("frame of %d bytes, more than the MTU %d", len(frame), mtu)
	}
	t, ok := wire.PeekType(frame)
	if !ok {
		return "not an Open-MX frame"
	}
	if frame[0]&1 != 0 {
		return "group destination"
	}
	if [6]byte(frame[6:12]) != mac {
		return "source MAC is not the board's"
	}
	src := -1 // the frame's source endpoint, for types that carry it
	var err error
	switch t {
	case wire.TypeTruc:
		var p wire.Truc
		_, p, err = wire.DecodeTruc(frame, m)
		src = int(p.SrcEP)
	case wire.TypeConnect:
		var p wire.Connect
		_, p, err = wire.DecodeConnect(frame, m)
		src = int(p.SrcEP)
	case wire.TypeTiny, wire.TypeSmall:
		var p wire.Msg
		_, p, err = wire.DecodeMsg(frame, m)
		src = int(p.SrcEP)
	case wire.TypeMedium:
		var p wire.Medium
		_, p, err = wire.DecodeMedium(frame, m)
		src = int(p.SrcEP)
	case wire.TypeRndv:
		var p wire.Rndv
		_, p, err = wire.DecodeRndv(frame, m)
		src = int(p.SrcEP)
	case wire.TypeNotify:
		var p wire.Notify
		_, p, err = wire.DecodeNotify(frame, m)
		src = int(p.SrcEP)
	case wire.TypePull:
		var p wire.Pull
		_, p, err = wire.DecodePull(frame, m)
		src = int(p.SrcEP)
		if err == nil && p.Magic != uint32(ep)^link.PullMagic {
			return "pull magic of another endpoint"
		}
	case wire.TypeNackLib:
		var p wire.NackLib
		_, p, err = wire.DecodeNackLib(frame, m)
		src = int(p.SrcEP)
	case wire.TypePullReply:
		_, _, err = wire.DecodePullReply(frame, m)
	case wire.TypeNackMCP:
		_, _, err = wire.DecodeNackMCP(frame, m)
	case wire.TypeHostQuery:
		_, _, err = wire.DecodeHostQuery(frame, m)
	case wire.TypeHostReply:
		_, _, err = wire.DecodeHostReply(frame, m)
	default:
		return fmt.Sprintf("packet type %d is not sent by endpoints", t)
	}
	if err != nil {
		return fmt.Sprintf("bad %v frame: %v", t, err)
	}
	if src >= 0 && src != int(ep) {
		return fmt.Sprintf("source endpoint %d, not the application's %d", src, ep)
	}
	return ""
}
