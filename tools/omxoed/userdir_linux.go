//go:build linux

package main

import (
	"github.com/open-mx-go/open-mx-go/compat/node"
	"github.com/open-mx-go/open-mx-go/engine/link/backend"
	"golang.org/x/sys/unix"
)

// serveUserDir makes the caller's state directory in the node state
// directory (users/<uid>, 0700, owned by the caller), so that the
// processes of a user keep their endpoints' state there rather than in a
// private directory of their own (compat.Config.StateDir).
func (s *backendServer) serveUserDir(cfd int, cred *unix.Ucred) {
	defer unix.Close(cfd)
	if cred.Uid == 0 {
		sendReply(cfd, backend.Reply{Status: backend.StatusBadRequest, Message: "root uses the node state directory itself"}, nil)
		return
	}
	if _, err := node.MakeUserDir(s.d.cfg.RunDir, int(cred.Uid)); err != nil {
		sendReply(cfd, backend.Reply{Status: backend.StatusFailed, Message: err.Error()}, nil)
		return
	}
	sendReply(cfd, backend.Reply{Status: backend.StatusOK}, nil)
}

// serveBoards tells the caller which boards the service serves (a process
// in a container sees no interface of the host).
func (s *backendServer) serveBoards(cfd int) {
	defer unix.Close(cfd)
	var bs []backend.BoardInfo
	for _, b := range s.d.boards {
		bs = append(bs, backend.BoardInfo{Index: uint32(b.b.Index), IfName: b.b.IfName, MAC: b.mac, MTU: uint32(b.b.MTU)})
	}
	_ = unix.Send(cfd, backend.MarshalBoards(bs), 0)
}
