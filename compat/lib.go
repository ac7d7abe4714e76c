package compat

// The library state behind both APIs: initialization, the error handlers
// and the translation of engine errors into codes (spec/api.md §2.1, §4).

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/open-mx-go/open-mx-go/engine"
	"github.com/open-mx-go/open-mx-go/engine/link"
	"github.com/open-mx-go/open-mx-go/engine/wire"
)

// API is the only API version the library implements (OMX_API, MX_API).
const API = 0x301

// HandlerKind tells how an error handler behaves.
type HandlerKind uint8

const (
	// HandlerUnset: no handler (for an endpoint: use the global one).
	HandlerUnset HandlerKind = iota
	// HandlerBeforeInit is the initial global handler: fatal, with a
	// "BeforeInit: " mark.
	HandlerBeforeInit
	// HandlerFatal prints the error and exits with status 255
	// (OMX_ERRORS_ARE_FATAL).
	HandlerFatal
	// HandlerReturn returns the code unchanged (OMX_ERRORS_RETURN).
	HandlerReturn
	// HandlerApp is an application function, called through CallHandler.
	HandlerApp
)

// Handler is an error handler as an API call gave it.
type Handler struct {
	Kind HandlerKind
	// Fn is the C function pointer (also for the predefined handlers, so
	// that the previous handler can be given back). It points to C code,
	// never to Go memory.
	Fn unsafe.Pointer
	// MX: the handler takes and returns MX codes (mx_set_error_handler,
	// MX_PARAM_ERROR_HANDLER); codes are converted with the lenient rule.
	MX bool
}

// Hooks into the C world, set by capi before any call.
var (
	// CallHandler calls an application error handler.
	CallHandler = func(fn unsafe.Pointer, msg string, code uint32) uint32 { return code }
	// Exit ends the process (C exit, so stdio buffers are flushed).
	Exit = os.Exit
	// Abort ends the process abnormally (C abort).
	Abort = func() { os.Exit(134) }
	// Stderr receives the library's messages.
	Stderr = func(s string) { os.Stderr.WriteString(s) }
	// Getenv reads the environment (C getenv, so putenv before init works).
	Getenv = os.Getenv
	// ThreadID identifies the calling OS thread.
	ThreadID = func() int64 { return 0 }
)

// Library is the process-wide state. Use the package-level Lib.
type Library struct {
	mu          sync.Mutex
	initialized bool
	opened      bool // an endpoint was opened once: communication knobs read
	cfg         Config
	eng         *engine.Engine
	engAny      atomic.Pointer[engine.Engine] // eng, readable without mu
	reg         registry
	backend     backendState
	global      atomic.Pointer[Handler]
	appGlobal   atomic.Bool // the application installed the global handler
}

// Lib is the library of this process.
var Lib = newLibrary()

func newLibrary() *Library {
	l := &Library{cfg: DefaultConfig()}
	l.global.Store(&Handler{Kind: HandlerBeforeInit})
	return l
}

// Config returns the configuration read so far.
func (l *Library) Config() Config {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cfg
}

// Engine returns the engine, or ErrNotInitialized.
func (l *Library) Engine() (*engine.Engine, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.initialized {
		return nil, engine.ErrNotInitialized
	}
	return l.eng, nil
}

// EngineAny returns the engine even after finalize (nil before the first
// init): endpoints stay usable until closed. Lock-free (hot path).
func (l *Library) EngineAny() *engine.Engine { return l.engAny.Load() }

// Prefix returns the message prefix.
func (l *Library) Prefix() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return expandPrefix(l.cfg.VerbosePrefix)
}

// expandPrefix expands the process-wide parts of OMX_VERBOSE_PREFIX.
func expandPrefix(f string) string {
	if strings.HasPrefix(f, "1") {
		f = "OMX:%H:%p "
	}
	if !strings.Contains(f, "%") {
		return f
	}
	host, _ := os.Hostname()
	r := strings.NewReplacer("%p", fmt.Sprint(os.Getpid()), "%H", host, "%e", "X", "%b", "X", "%B", "X")
	return r.Replace(f)
}

// Init initializes the library (omx__init_api). A second init succeeds and
// only re-reads the init-time environment (spec/api.md §5.1 [Decision]).
func (l *Library) Init(api int) Code {
	cfg := LoadConfig(Getenv)
	l.mu.Lock()
	l.cfg.Verbose, l.cfg.VerbosePrefix = cfg.Verbose, cfg.VerbosePrefix
	l.cfg.AbortSleeps, l.cfg.FatalErrors = cfg.AbortSleeps, cfg.FatalErrors
	if !l.appGlobal.Load() {
		if cfg.FatalErrors {
			l.global.Store(&Handler{Kind: HandlerFatal})
		} else {
			l.global.Store(&Handler{Kind: HandlerReturn})
		}
	}
	l.mu.Unlock()
	if api>>8 != API>>8 || api == 0 {
		return l.ReportGlobal(BadLibABI, fmt.Sprintf("Comparing library used at build-time (ABI 0x%x) with currently used library (ABI 0x%x)", api>>8, API>>8))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.initialized {
		return Success
	}
	if l.eng == nil {
		l.cfg = cfg
		boards, err := DiscoverBoards(cfg)
		if err != nil && cfg.Verbose {
			Stderr(expandPrefix(cfg.VerbosePrefix) + err.Error() + "\n")
		}
		for i := range boards {
			// A name set with mx_raw_set_hostname (or the node tools).
			if name, err := ReadBoardHostname(cfg.RunDir, boards[i].IfName); err == nil && name != "" {
				boards[i].Hostname = name
			}
		}
		l.eng = engine.New(l.engineConfig(cfg, boards))
		l.engAny.Store(l.eng)
	}
	l.initialized = true
	return Success
}

// engineConfig builds the engine configuration.
func (l *Library) engineConfig(cfg Config, boards []Board) engine.Config {
	eb := make([]engine.Board, len(boards))
	for i, b := range boards {
		eb[i] = engine.Board{Index: b.Index, NICID: b.NICID, IfName: b.IfName, Hostname: b.Hostname, MTU: b.MTU, NUMANode: b.NUMANode, Loopback: b.Loopback}
	}
	return engine.Config{
		Boards:              eb,
		Peers:               loadPeers(cfg),
		DisableSelf:         cfg.DisableSelf,
		DisableShared:       cfg.DisableShared,
		RndvThreshold:       cfg.RndvThreshold,
		SharedRndvThreshold: cfg.SharedRndvThreshold,
		ResendsMax:          cfg.ResendsMax,
		NotAckedMax:         cfg.NotAckedMax,
		UnexpQueueMax:       int(cfg.UnexpQueueMax),
		PartnersMax:         int(cfg.PartnersMax),
		ZombieSend:          cfg.ZombieSend,
		NoZombies:           cfg.ZombieSend == 0,
		WaitSpin:            cfg.WaitSpin,
		ThreadID:            ThreadID,
		OpenLink: func(b engine.Board, ep uint32) (link.Link, wire.Mode, error) {
			return l.openLink(cfg, b, ep)
		},
		OpenLocalLink: func(b engine.Board, ep uint32) (link.Link, wire.Mode, error) {
			return l.openLocalLink(cfg, b, ep)
		},
		PID:         uint32(os.Getpid()),
		ReadProcess: l.singleCopy(cfg),
		LocalEndpointOpen: func(b engine.Board, index uint32) bool {
			return l.localEndpointOpen(cfg, b, index)
		},
		RefreshPeers: newPeerSource(cfg).refresh,
		AcquireSlot: func(b engine.Board, index, session uint32) (func(), error) {
			if l.viaBackend(cfg, b) {
				return l.backendAcquire(cfg, b, index, session)
			}
			return l.reg.acquire(cfg, b, index, session)
		},
		NoNetworkReason: noNetworkReason(cfg),
		Warn: func(msg string) {
			Stderr(expandPrefix(cfg.VerbosePrefix) + msg + "\n")
		},
		Report: func(ep *engine.Endpoint, msg string, code engine.Status) engine.Status {
			return engine.Status(l.Report(ep, Code(code), msg))
		},
		Fatal: l.FatalError,
	}
}

// firstOpen reads the communication knobs at the first endpoint open of the
// process (spec/api.md §2.1).
func (l *Library) firstOpen() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.opened {
		return
	}
	l.opened = true
	cfg := LoadConfig(Getenv)
	init := l.cfg
	cfg.Verbose, cfg.VerbosePrefix, cfg.AbortSleeps, cfg.FatalErrors = init.Verbose, init.VerbosePrefix, init.AbortSleeps, init.FatalErrors
	l.cfg = cfg
	l.eng.SetConfig(l.engineConfig(cfg, boardsOf(l.eng)))
	if cfg.Verbose {
		for _, m := range cfg.Messages {
			Stderr(expandPrefix(cfg.VerbosePrefix) + m + "\n")
		}
	}
}

func boardsOf(e *engine.Engine) []Board {
	var bs []Board
	for _, b := range e.Boards() {
		bs = append(bs, Board{Index: b.Index, NICID: b.NICID, IfName: b.IfName, Hostname: b.Hostname, MTU: b.MTU, NUMANode: b.NUMANode, Loopback: b.Loopback})
	}
	return bs
}

// Finalize marks the library uninitialized (omx_finalize). Open endpoints
// stay usable until closed. With OMX_DEBUG_LEAKS=1 it prints what the
// library still holds.
func (l *Library) Finalize() Code {
	l.mu.Lock()
	l.initialized = false
	eng := l.eng
	prefix := expandPrefix(l.cfg.VerbosePrefix)
	l.mu.Unlock()
	if Getenv("OMX_DEBUG_LEAKS") == "1" && eng != nil {
		s := eng.Stats()
		Stderr(fmt.Sprintf("%sleaks: endpoints=%d requests=%d partners=%d goroutines=%d files=%d\n",
			prefix, s.Endpoints, s.Requests, s.Partners, s.Goroutines, s.Files))
	}
	return Success
}

// SetGlobalHandler installs the global handler and returns the previous
// one. A handler of kind HandlerUnset restores the default.
func (l *Library) SetGlobalHandler(h Handler) Handler {
	if h.Kind == HandlerUnset {
		l.appGlobal.Store(false)
		l.mu.Lock()
		if l.initialized && !l.cfg.FatalErrors {
			h = Handler{Kind: HandlerReturn}
		} else if l.initialized {
			h = Handler{Kind: HandlerFatal}
		} else {
			h = Handler{Kind: HandlerBeforeInit}
		}
		l.mu.Unlock()
	} else {
		l.appGlobal.Store(true)
	}
	return *l.global.Swap(&h)
}

// GlobalHandler returns the current global handler.
func (l *Library) GlobalHandler() Handler { return *l.global.Load() }

// EndpointHandler returns an endpoint's own handler (Kind HandlerUnset if
// none).
func EndpointHandler(ep *engine.Endpoint) Handler {
	if h, ok := ep.ErrorHandler().(Handler); ok {
		return h
	}
	return Handler{}
}

// Report passes an error through the endpoint's handler (the global one
// when ep is nil or has none) and returns what the handler returned.
func (l *Library) Report(ep *engine.Endpoint, code Code, msg string) Code {
	if code == Success {
		return Success
	}
	h := Handler{}
	if ep != nil {
		h = EndpointHandler(ep)
	}
	if h.Kind == HandlerUnset {
		h = l.GlobalHandler()
	}
	return l.call(h, code, msg)
}

// ReportGlobal passes an error through the global handler.
func (l *Library) ReportGlobal(code Code, msg string) Code { return l.Report(nil, code, msg) }

// Fail reports err (nil: success) with its code and message.
func (l *Library) Fail(ep *engine.Endpoint, err error) Code {
	if err == nil {
		return Success
	}
	return l.Report(ep, CodeOf(err), Message(err))
}

// FailGlobal reports err through the global handler.
func (l *Library) FailGlobal(err error) Code { return l.Fail(nil, err) }

func (l *Library) call(h Handler, code Code, msg string) Code {
	if len(msg) > 255 {
		msg = msg[:255]
	}
	switch h.Kind {
	case HandlerReturn:
		return code
	case HandlerApp:
		if h.MX {
			return ReturnFromMX(CallHandler(h.Fn, msg, ReturnToMX(code)))
		}
		return Code(CallHandler(h.Fn, msg, uint32(code)))
	case HandlerBeforeInit:
		l.die("BeforeInit: "+msg, code)
	default:
		l.die(msg, code)
	}
	return code
}

// die is the fatal handler: message, optional sleep, exit(-1).
func (l *Library) die(msg string, code Code) {
	s, _ := Strerror(code)
	l.mu.Lock()
	prefix, sleeps := expandPrefix(l.cfg.VerbosePrefix), l.cfg.AbortSleeps
	l.mu.Unlock()
	Stderr(fmt.Sprintf("%s%s: %s\n", prefix, msg, s))
	if sleeps > 0 {
		Stderr(fmt.Sprintf("Open-MX sleeping %d before aborting, you may attach with gdb -p %d\n", sleeps, os.Getpid()))
		time.Sleep(time.Duration(sleeps) * time.Second)
	}
	Exit(255)
}

// FatalError prints "<prefix>FatalError: <text>" and aborts (spec/api.md
// §4.2).
func (l *Library) FatalError(text string) {
	Stderr(fmt.Sprintf("%sFatalError: %s\n", l.Prefix(), text))
	Abort()
}

// Message returns the handler message of an error: its text up to the
// wrapped sentinel, with the first letter capitalized.
func Message(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i > 0 {
		s = s[:i]
	}
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}

// codeOfErr maps the engine's sentinel errors to codes.
var codeOfErr = []struct {
	err  error
	code Code
}{
	{engine.ErrNotInitialized, NotInitialized},
	{engine.ErrBadEndpoint, BadEndpoint},
	{engine.ErrBadRequest, BadRequest},
	{engine.ErrBadMatchMask, BadMatchMask},
	{engine.ErrCtxIDMask, BadMatchingForContextIDMask},
	{engine.ErrSegmentsCount, SegmentsBadCount},
	{engine.ErrBoardNotFound, BoardNotFound},
	{engine.ErrBusy, Busy},
	{engine.ErrNoResources, NoResources},
	{engine.ErrParamBadValue, EndpointParamBadValue},
	{engine.ErrNICIDNotFound, NICIDNotFound},
	{engine.ErrPeerNotFound, PeerNotFound},
	{engine.ErrInHandler, NotSupportedInHandler},
	{engine.ErrTimeout, Timeout},
	{engine.ErrRemoteBadID, RemoteEndpointBadID},
	{engine.ErrRemoteClosed, RemoteEndpointClosed},
	{engine.ErrRemoteBadKey, RemoteEndpointBadConnectionKey},
	{engine.ErrRemoteUnreachable, RemoteEndpointUnreachable},
	{engine.ErrNotImplemented, NotImplemented},
	{engine.ErrNoDriver, NoDriver},
}

// CodeError is an error carrying its code directly.
type CodeError struct {
	Code Code
	Msg  string
}

func (e *CodeError) Error() string { return e.Msg + ": " + e.Code.String() }

// CodeOf returns the Open-MX code of an error (BadError for unknown ones).
func CodeOf(err error) Code {
	if err == nil {
		return Success
	}
	var ce *CodeError
	if errors.As(err, &ce) {
		return ce.Code
	}
	for _, c := range codeOfErr {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return BadError
}

// Errorf returns an error with a code and a handler message.
func Errorf(code Code, format string, args ...any) error {
	return &CodeError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// CallPredefined runs a predefined handler's behaviour (a C program called
// OMX_ERRORS_ARE_FATAL itself).
func (l *Library) CallPredefined(h Handler, code Code, msg string) Code { return l.call(h, code, msg) }
