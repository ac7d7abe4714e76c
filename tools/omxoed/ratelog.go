//go:build linux

package main

// Rate-limited log lines: what a frame from the wire makes omxoed say
// (a rejected announcement, an unsolicited host reply, a NACK...) must not
// let a flood fill the disk. Each kind of line is printed at most burst
// times per logEvery; the lines held back are counted and the count is
// printed with the next line of that kind, or by flush once the interval
// is over.

import (
	"fmt"
	"log"
	"sync"
	"time"
)

// logEvery is the interval of the log limits.
const logEvery = 10 * time.Second

// Kinds of rate-limited lines, with how many of each an interval allows.
var logBurst = map[string]int{
	"found":     20, // new peer admitted
	"aged":      20, // discovered peer removed
	"named":     20, // host name learned
	"restarted": 5,  // known peer with a new serial
	"asking":    20, // -v: host query sent
	"telling":   20, // -v: host query answered
	"nack":      20, // -v: NACK sent
}

type logKind struct {
	start      time.Time // beginning of the current interval
	printed    int       // lines printed in it
	suppressed int       // lines held back since the last one printed
}

// rateLog prints through a log.Logger, per kind at most logBurst[kind]
// lines (1 for kinds not listed) per logEvery. Safe for concurrent use.
type rateLog struct {
	lg    *log.Logger
	mu    sync.Mutex
	kinds map[string]*logKind
}

func newRateLog(lg *log.Logger) *rateLog {
	return &rateLog{lg: lg, kinds: map[string]*logKind{}}
}

// printf prints a line of kind, unless the kind used up its lines of the
// current interval; it reports whether it printed.
func (r *rateLog) printf(now time.Time, kind, format string, args ...any) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := r.kinds[kind]
	if k == nil {
		k = &logKind{start: now}
		r.kinds[kind] = k
	}
	if now.Sub(k.start) >= logEvery {
		k.start, k.printed = now, 0
	}
	burst := logBurst[kind]
	if burst == 0 {
		burst = 1
	}
	if k.printed >= burst {
		k.suppressed++
		return false
	}
	k.printed++
	msg := fmt.Sprintf(format, args...)
	if k.suppressed > 0 {
		msg += fmt.Sprintf(" (%d similar lines suppressed)", k.suppressed)
		k.suppressed = 0
	}
	r.lg.Print(msg)
	return true
}

// flush prints, for every kind whose interval is over, how many lines it
// held back.
func (r *rateLog) flush(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for kind, k := range r.kinds {
		if k.suppressed > 0 && now.Sub(k.start) >= logEvery {
			r.lg.Printf("%d more lines of kind %q suppressed (at most %d per %v)", k.suppressed, kind, max(1, logBurst[kind]), logEvery)
			k.suppressed = 0
			k.start, k.printed = now, 1
		}
	}
}
