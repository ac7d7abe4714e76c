package compat

import (
	"encoding/binary"
	"fmt"

	"github.com/open-mx-go/open-mx-go/compat/node"
	"github.com/open-mx-go/open-mx-go/engine"
)

// Open-MX info keys (enum omx_info_key).
const (
	InfoBoardMax      = 0
	InfoEndpointMax   = 1
	InfoBoardCount    = 2
	InfoBoardIDs      = 3
	InfoBoardHostname = 4
	InfoBoardIfname   = 5
	InfoBoardNUMANode = 6
	InfoCounterMax    = 7
	InfoCounterValues = 8
	InfoCounterLabel  = 9
)

// MX info keys (enum mx_get_info_key).
const (
	MXNICCount            = 1
	MXNICIDs              = 2
	MXMaxNativeEndpoints  = 3
	MXNativeRequests      = 4
	MXCountersCount       = 5
	MXCountersLabels      = 6
	MXCountersValues      = 7
	MXProductCode         = 8
	MXPartNumber          = 9
	MXSerialNumber        = 10
	MXPortCount           = 11
	MXPIOSendMax          = 12
	MXCopySendMax         = 13
	MXNUMANode            = 14
	MXNetType             = 15
	MXLineSpeed           = 16
	mxCounterLabelStride  = 128
	mxNetEther            = 1
	mxSpeedOpenMX         = 2
	mxSpeed10G            = 1
	mxSmallMessageMax     = 128
	unknownCounterLabel   = "** Unknown **"
	productNotApplicable  = "N/A (Open-MX)"
	numaUnknown           = 0xffffffff
	endpointMax, boardMax = 32, 32
)

var ne = binary.NativeEndian

// putU32 writes v into out, or fails with BadInfoLength.
func putU32(out []byte, v uint32) error {
	if len(out) < 4 {
		return Errorf(BadInfoLength, "Getting info with output length %d", len(out))
	}
	ne.PutUint32(out, v)
	return nil
}

// putString copies s NUL-terminated into out, truncated to len(out)-1
// ([Decision] of spec/api.md §5.27).
func putString(out []byte, s string) {
	if len(out) == 0 {
		return
	}
	n := copy(out[:len(out)-1], s)
	out[n] = 0
}

// infoBoard returns the board a per-board key is about: the endpoint's, or
// the index in the first input byte.
func (l *Library) infoBoard(eng *engine.Engine, ep *engine.Endpoint, in []byte) (engine.Board, error) {
	if ep != nil {
		return ep.Board(), nil
	}
	if in == nil {
		return engine.Board{}, Errorf(BadInfoAddress, "Getting board info with NULL input value")
	}
	if len(in) == 0 {
		return engine.Board{}, Errorf(BadInfoLength, "Getting board info with empty input value")
	}
	b, ok := eng.Board(uint32(in[0]))
	if !ok {
		return engine.Board{}, Errorf(BoardNotFound, "Getting info of board %d", in[0])
	}
	return b, nil
}

// errDirect is an error returned without calling any handler.
type errDirect struct{ code Code }

func (e errDirect) Error() string { return e.code.String() }

// GetInfo implements omx_get_info. in and out are nil for NULL pointers.
func (l *Library) GetInfo(ep *engine.Endpoint, key uint32, in, out []byte) Code {
	if out == nil {
		return l.Report(ep, BadInfoAddress, "Getting info with NULL out value pointer")
	}
	err := l.getInfo(ep, key, in, out)
	if d, ok := err.(errDirect); ok {
		return d.code
	}
	return l.FailGlobal(err)
}

func (l *Library) getInfo(ep *engine.Endpoint, key uint32, in, out []byte) error {
	eng, err := l.Engine()
	switch key {
	case InfoBoardMax, InfoEndpointMax, InfoBoardIDs:
		if err != nil {
			return Errorf(NotInitialized, "Getting info key %d", key)
		}
	case InfoBoardCount:
		if err != nil {
			return errDirect{NotInitialized}
		}
	}
	switch key {
	case InfoBoardMax:
		return putU32(out, boardMax)
	case InfoEndpointMax:
		return putU32(out, endpointMax)
	case InfoBoardCount:
		return putU32(out, uint32(len(eng.Boards())))
	case InfoBoardIDs:
		bs := eng.Boards()
		if len(out) < 8*(len(bs)+1) {
			return Errorf(BadInfoLength, "Getting board ids with output length %d", len(out))
		}
		for i, b := range bs {
			ne.PutUint64(out[8*i:], b.NICID)
		}
		ne.PutUint64(out[8*len(bs):], 0)
		return nil
	case InfoBoardHostname, InfoBoardIfname, InfoBoardNUMANode, InfoCounterValues:
		if eng == nil {
			eng = l.EngineAny()
		}
		if eng == nil {
			return Errorf(NotInitialized, "Getting info key %d", key)
		}
		b, err := l.infoBoard(eng, ep, in)
		if err != nil {
			return err
		}
		switch key {
		case InfoBoardHostname:
			putString(out, b.Hostname)
		case InfoBoardIfname:
			putString(out, b.IfName)
		case InfoBoardNUMANode:
			n := uint32(numaUnknown)
			if b.NUMANode >= 0 {
				n = uint32(b.NUMANode)
			}
			return putU32(out, n)
		case InfoCounterValues:
			if len(out) < 4*int(engine.NumCounters) {
				return Errorf(BadInfoLength, "Getting counter values with output length %d", len(out))
			}
			// Totals from the state directory of this process's
			// endpoints (every process using it, closed endpoints
			// included); this process's own endpoints when that
			// directory cannot be read.
			vals := eng.BoardCounters(uint32(b.Index))
			if host, err := node.ReadCounters(l.Config().StateDir(), b.IfName, nil); err == nil {
				vals = host[:]
			}
			for i, v := range vals {
				ne.PutUint32(out[4*i:], uint32(v))
			}
		}
		return nil
	case InfoCounterMax:
		return putU32(out, uint32(engine.NumCounters))
	case InfoCounterLabel:
		if len(in) < 1 {
			return Errorf(BadInfoAddress, "Getting counter label with no counter index")
		}
		label := counterLabel(int(in[0]))
		if len(out) < len(label)+1 {
			return Errorf(BadInfoLength, "Getting counter label with output length %d", len(out))
		}
		putString(out, label)
		return nil
	}
	return Errorf(BadInfoKey, "Getting info key %d", key)
}

func counterLabel(i int) string {
	if i < 0 || i >= int(engine.NumCounters) {
		return unknownCounterLabel
	}
	return engine.Counter(i).Label()
}

// MXGetInfo implements mx_get_info in Open-MX codes (spec/api.md §6.4).
func (l *Library) MXGetInfo(ep *engine.Endpoint, key uint32, in, out []byte) Code {
	constant := func(v uint32) Code {
		if len(out) >= 4 {
			ne.PutUint32(out, v)
		}
		return Success
	}
	switch key {
	case MXNICCount:
		return l.GetInfo(ep, InfoBoardCount, in, out)
	case MXNICIDs:
		return l.GetInfo(ep, InfoBoardIDs, in, out)
	case MXMaxNativeEndpoints:
		return l.GetInfo(ep, InfoEndpointMax, in, out)
	case MXNativeRequests:
		return constant(0xffffffff)
	case MXCountersCount:
		return l.GetInfo(ep, InfoCounterMax, in, out)
	case MXCountersLabels:
		if out == nil {
			return l.Report(ep, BadInfoAddress, "Getting info with NULL out value pointer")
		}
		if len(out) < int(engine.NumCounters)*mxCounterLabelStride {
			return l.Report(ep, BadInfoLength, fmt.Sprintf("Getting counter labels with output length %d", len(out)))
		}
		for i := 0; i < int(engine.NumCounters); i++ {
			putString(out[i*mxCounterLabelStride:(i+1)*mxCounterLabelStride], counterLabel(i))
		}
		return Success
	case MXCountersValues:
		return l.GetInfo(ep, InfoCounterValues, in, out)
	case MXProductCode, MXPartNumber, MXSerialNumber:
		putString(out, productNotApplicable)
		return Success
	case MXPortCount:
		return constant(1)
	case MXPIOSendMax:
		return constant(mxSmallMessageMax)
	case MXCopySendMax:
		return constant(l.Config().RndvThreshold)
	case MXNUMANode:
		return l.GetInfo(ep, InfoBoardNUMANode, in, out)
	case MXNetType:
		return constant(mxNetEther)
	case MXLineSpeed:
		if l.Config().WireCompat {
			return constant(mxSpeed10G)
		}
		return constant(mxSpeedOpenMX)
	}
	return l.Report(ep, BadInfoKey, fmt.Sprintf("Getting info key %d", key))
}
