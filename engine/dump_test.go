package engine

import "fmt"

// dumpEP describes an endpoint's protocol state toward its partners, for
// the failure messages of tests that wait for traffic.
func dumpEP(ep *Endpoint) string {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	s := fmt.Sprintf("ep%d:\n", ep.index)
	for k, p := range ep.mu.partners {
		w := p.w
		if w == nil {
			continue
		}
		ps := &w.path
		s += fmt.Sprintf(" partner %v: nextSend %x nextAcked %x nonAcked %d throttled %d nextRecv %x early %d asm %v swnd %d sinfl %d rec %v backoff %d srtt %v pwnd %d active %v\n",
			k, w.nextSend, w.nextAcked, len(w.nonAcked), len(w.throttled), w.nextRecv, len(w.early), w.asm != nil, ps.swnd, ps.sinflight, ps.recovering, ps.backoff, ps.srtt, ps.pwnd, ep.net.active[p] == struct{}{})
		for _, sd := range w.nonAcked {
			s += fmt.Sprintf("   seq %x typ %d sends %d acked %v last %v\n", sd.seq, sd.typ, sd.sends, sd.acked, sd.lastSend)
		}
		for _, pl := range ps.pulls {
			s += fmt.Sprintf("   pull %d xfer %d rem %d missing %d blocks %d deadline %v\n", pl.handle, pl.xfer, pl.remaining, pl.missing, len(pl.blocks), pl.deadline)
		}
	}
	s += fmt.Sprintf(" pulls %d inbox %d tombs %d reclaimed %d resends %d rec %+v\n", len(ep.net.pullsByHandle), ep.inbox.n.Load(), len(ep.net.tombs), ep.reclaimed, ep.resends.Load(), ep.RecoveryStats())
	return s
}
