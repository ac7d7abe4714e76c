package compat

import (
	"fmt"
	"os"
	"sync"

	"github.com/open-mx-go/open-mx-go/compat/node"
	"github.com/open-mx-go/open-mx-go/engine"
)

// Endpoint parameter keys (omx_endpoint_param_key, mx_param_key).
const (
	ParamErrorHandler  = 0
	ParamUnexpQueueMax = 1
	ParamContextID     = 2
)

// Param is one endpoint parameter as given to omx_open_endpoint.
type Param struct {
	Key         uint32
	Handler     Handler
	Bits, Shift uint8
	// UnexpQueueMax is the value of ParamUnexpQueueMax (bytes).
	UnexpQueueMax uint32
}

// OpenEndpoint implements omx_open_endpoint / mx_open_endpoint after the
// parameter array was decoded (spec/api.md §5.3). Errors go through the
// global handler; the returned code is the handler's.
func (l *Library) OpenEndpoint(board, index, key uint32, params []Param) (*engine.Endpoint, Code) {
	eng, err := l.Engine()
	if err != nil {
		return nil, l.ReportGlobal(NotInitialized, "Opening endpoint")
	}
	l.firstOpen()
	cfg := l.Config()
	opt := engine.EndpointOptions{ErrorHandler: Handler{}}
	var unexpMax uint32
	unexpSet := false
	if cfg.CtxIDsSet {
		opt.CtxIDBits, opt.CtxIDShift = cfg.CtxIDBits, cfg.CtxIDShift
	}
	for _, p := range params {
		switch p.Key {
		case ParamErrorHandler:
			opt.ErrorHandler = p.Handler
		case ParamUnexpQueueMax:
			// Divergence: Open-MX ignores it; here it bounds the
			// unexpected queue (bytes), as in MX.
			unexpMax, unexpSet = p.UnexpQueueMax, true
		case ParamContextID:
			opt.CtxIDBits, opt.CtxIDShift = p.Bits, p.Shift
		default:
			return nil, l.ReportGlobal(EndpointParamBadKey, fmt.Sprintf("Reading endpoint parameter key %d", p.Key))
		}
	}
	if opt.CtxIDBits > 16 {
		return nil, l.ReportGlobal(EndpointParamBadValue, fmt.Sprintf("Opening Endpoint with %d ctxid bits", opt.CtxIDBits))
	}
	if int(opt.CtxIDBits)+int(opt.CtxIDShift) > 64 {
		return nil, l.ReportGlobal(EndpointParamBadValue, fmt.Sprintf("Opening Endpoint with %d ctxid bits at shift %d", opt.CtxIDBits, opt.CtxIDShift))
	}
	if index == engine.Any && cfg.AnyEndpointSet {
		index = cfg.AnyEndpoint
	}
	// The state directory of this process's endpoints: refused when
	// another user could change it (compat/node/safedir.go).
	if err := l.checkStateDir(cfg); err != nil {
		return nil, l.ReportGlobal(AccessDenied, "Opening endpoint: "+err.Error())
	}
	// Live counters in the state directory (compat/node/counters.go).
	cf, _ := node.CreateCounters(cfg.StateDir())
	if cf != nil {
		opt.Counters = engine.NewCounters(cf.Store())
	}
	ep, err := eng.OpenEndpoint(board, index, key, opt)
	if err != nil {
		node.CloseCountersWith(cf, opt.Counters)
		return nil, l.FailGlobal(err)
	}
	if unexpSet {
		ep.SetUnexpQueueMax(unexpMax)
	}
	if cf != nil && cf.Publish(ep.Board().IfName, ep.Index()) == nil {
		counterFiles.Store(ep, cf)
	} else {
		node.CloseCountersWith(cf, ep.Counters())
	}
	if cpus, err := BindingCPUs(cfg.ProcessBinding, ep.Board().NICID, ep.Index(), os.ReadFile); err != nil {
		l.FatalError(err.Error())
	} else if len(cpus) > 0 {
		if err := bindThread(cpus); err != nil && cfg.Verbose {
			Stderr(l.Prefix() + "binding to CPUs " + fmt.Sprint(cpus) + ": " + err.Error() + "\n")
		}
	}
	ep.Progress()
	return ep, Success
}

// CloseEndpoint implements omx_close_endpoint. With OMX_DEBUG_COUNTERS=1
// the endpoint's non-zero counters are printed on stderr first, one
// "<prefix>counter <board>:<index> <label>: <value>" line each.
func (l *Library) CloseEndpoint(ep *engine.Endpoint) Code {
	if Getenv("OMX_DEBUG_COUNTERS") == "1" && !ep.Closed() {
		prefix := l.Prefix()
		for i, v := range ep.Counters().Snapshot() {
			if v != 0 {
				Stderr(fmt.Sprintf("%scounter %d:%d %s: %d\n", prefix, ep.Board().Index, ep.Index(), engine.Counter(i).Label(), v))
			}
		}
		b, i := ep.Board().Index, ep.Index()
		Stderr(fmt.Sprintf("%scounter %d:%d Resends: %d\n", prefix, b, i, ep.Resends()))
		rs := ep.RecoveryStats()
		Stderr(fmt.Sprintf("%scounter %d:%d Fast Retransmits: %d\n%scounter %d:%d Retransmit Timeouts: %d\n"+
			"%scounter %d:%d Pull Rerequests: %d\n%scounter %d:%d Pull Timeouts: %d\n%scounter %d:%d Receive Ring Drops: %d\n",
			prefix, b, i, rs.FastRetransmits, prefix, b, i, rs.Timeouts, prefix, b, i, rs.PullRerequests, prefix, b, i, rs.PullTimeouts,
			prefix, b, i, rs.RingDrops))
	}
	if err := ep.Close(); err != nil {
		if CodeOf(err) == NotSupportedInHandler {
			return l.Report(ep, NotSupportedInHandler, "Closing endpoint during unexpected handler")
		}
		return l.ReportGlobal(CodeOf(err), "Closing endpoint")
	}
	if cf, ok := counterFiles.LoadAndDelete(ep); ok {
		node.CloseCountersWith(cf.(*node.CounterFile), ep.Counters())
		// Reading the board's counters folds the files of processes that
		// died into the totals, so a crash leaves nothing behind.
		node.ReadCounters(l.Config().StateDir(), ep.Board().IfName, nil)
	}
	return Success
}

// counterFiles maps each open endpoint to its counter file.
var counterFiles sync.Map // *engine.Endpoint -> *node.CounterFile

// Timeout converts an MX timeout (MX_INFINITE = 0) to milliseconds for the
// engine (0xffffffff = forever).
func TimeoutFromMX(t uint32) uint32 {
	if t == 0 {
		return 0xffffffff
	}
	return t
}

// ResendsFromMillis converts a request timeout to a retry budget:
// ceil(ms*2/1024), one resend every ~0.5 s; infinite stays infinite
// (spec/api.md §5.26, the overflow quirk fixed).
func ResendsFromMillis(ms uint32) uint32 {
	if ms == 0xffffffff {
		return ms
	}
	return uint32((uint64(ms)*2 + 1023) / 1024)
}
