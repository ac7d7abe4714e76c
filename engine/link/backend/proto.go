// Package backend is the link of an endpoint served by the node service
// (omxoed), for applications without raw-socket rights: the xen2mx split
// of Open-MX, in user space. The application asks the service, through a
// Unix socket of the node state directory, to open an endpoint of a board;
// the service checks who asks (SO_PEERCRED) against the board's access
// list, claims the endpoint index host-wide, and answers with two channels
// (shm.Channel: a sealed memfd ring and an eventfd each), one per
// direction. The service moves frames between the channels and the board:
// it checks every frame the application asks to send (source MAC and
// endpoint, packet type, lengths) and delivers to the application only the
// frames addressed to its endpoint. Closing the socket (or the end of the
// process) releases the endpoint.
//
// This file is the protocol, shared by the client (this package) and the
// service (tools/omxoed).
package backend

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// SocketName is the name of the service's socket in the node state
// directory.
const SocketName = "backend.sock"

const (
	protoMagic   = 0x42584d4f // "OMXB" little-endian
	protoVersion = 1
	opOpen       = 1
	opUserDir    = 2 // make the caller's state directory (userdir.go)
	opBoards     = 3 // list the boards the service serves (userdir.go)

	// RequestSize and ReplySize are the sizes of the messages (one
	// SOCK_SEQPACKET message each).
	RequestSize = 64
	ReplySize   = 256
	nameLen     = 16
	messageLen  = ReplySize - 36
)

// Request asks the service to open an endpoint (or, with UserDir, to make
// the caller's state directory).
type Request struct {
	UserDir  bool
	Boards   bool
	Board    uint32 // board index
	Endpoint uint32 // endpoint index
	Session  uint32 // the endpoint's session id (recorded in the registry)
	IfName   string // the board's interface, as the application sees it
	Command  string // the application's command name, for omx_endpoint_info
}

// Status of a reply.
type Status uint32

const (
	StatusOK      Status = iota
	StatusBusy           // the endpoint index is held
	StatusDenied         // the user may not use the board
	StatusNoBoard        // no such board, or another interface
	StatusFailed         // the service could not serve it (message says why)
	StatusBadRequest
)

// Reply answers a Request. With StatusOK, four descriptors travel with it
// (SCM_RIGHTS), in this order: the memfd and eventfd of the channel the
// application sends on, then those of the channel it receives on.
type Reply struct {
	Status  Status
	MTU     uint32 // largest frame of the board, from the destination MAC
	MAC     [6]byte
	Message string // why, when the status is not StatusOK
}

// Errors of Open, by reply status.
var (
	ErrBusy    = errors.New("endpoint index held by another process")
	ErrDenied  = errors.New("not allowed to use this board (open-mx.conf)")
	ErrNoBoard = errors.New("the node service has no such board")
	ErrService = errors.New("the node service refused")
)

// Err returns the error of a status (nil for StatusOK).
func (s Status) Err() error {
	switch s {
	case StatusOK:
		return nil
	case StatusBusy:
		return ErrBusy
	case StatusDenied:
		return ErrDenied
	case StatusNoBoard:
		return ErrNoBoard
	}
	return ErrService
}

func putName(b []byte, s string) {
	clear(b)
	copy(b[:len(b)-1], s)
}

func getName(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// Marshal encodes the request.
func (r Request) Marshal() []byte {
	b := make([]byte, RequestSize)
	binary.LittleEndian.PutUint32(b[0:], protoMagic)
	binary.LittleEndian.PutUint32(b[4:], protoVersion)
	op := uint32(opOpen)
	switch {
	case r.UserDir:
		op = opUserDir
	case r.Boards:
		op = opBoards
	}
	binary.LittleEndian.PutUint32(b[8:], op)
	binary.LittleEndian.PutUint32(b[12:], r.Board)
	binary.LittleEndian.PutUint32(b[16:], r.Endpoint)
	binary.LittleEndian.PutUint32(b[20:], r.Session)
	putName(b[24:24+nameLen], r.IfName)
	putName(b[40:40+nameLen], r.Command)
	return b
}

// UnmarshalRequest decodes a request (from an untrusted application).
func UnmarshalRequest(b []byte) (Request, error) {
	if len(b) != RequestSize || binary.LittleEndian.Uint32(b[0:]) != protoMagic ||
		binary.LittleEndian.Uint32(b[4:]) != protoVersion {
		return Request{}, fmt.Errorf("backend: bad request of %d bytes", len(b))
	}
	op := binary.LittleEndian.Uint32(b[8:])
	if op != opOpen && op != opUserDir && op != opBoards {
		return Request{}, fmt.Errorf("backend: unknown request %d", op)
	}
	return Request{
		UserDir:  op == opUserDir,
		Boards:   op == opBoards,
		Board:    binary.LittleEndian.Uint32(b[12:]),
		Endpoint: binary.LittleEndian.Uint32(b[16:]),
		Session:  binary.LittleEndian.Uint32(b[20:]),
		IfName:   getName(b[24 : 24+nameLen]),
		Command:  getName(b[40 : 40+nameLen]),
	}, nil
}

// Marshal encodes the reply.
func (r Reply) Marshal() []byte {
	b := make([]byte, ReplySize)
	binary.LittleEndian.PutUint32(b[0:], protoMagic)
	binary.LittleEndian.PutUint32(b[4:], protoVersion)
	binary.LittleEndian.PutUint32(b[8:], uint32(r.Status))
	binary.LittleEndian.PutUint32(b[12:], r.MTU)
	copy(b[16:22], r.MAC[:])
	putName(b[36:], r.Message)
	return b
}

// UnmarshalReply decodes a reply.
func UnmarshalReply(b []byte) (Reply, error) {
	if len(b) != ReplySize || binary.LittleEndian.Uint32(b[0:]) != protoMagic || binary.LittleEndian.Uint32(b[4:]) != protoVersion {
		return Reply{}, fmt.Errorf("backend: bad reply of %d bytes", len(b))
	}
	r := Reply{
		Status:  Status(binary.LittleEndian.Uint32(b[8:])),
		MTU:     binary.LittleEndian.Uint32(b[12:]),
		Message: getName(b[36:]),
	}
	copy(r.MAC[:], b[16:22])
	return r, nil
}

// BoardInfo describes a board the service serves.
type BoardInfo struct {
	Index  uint32
	IfName string
	MAC    [6]byte
	MTU    uint32 // interface MTU (without the Ethernet header)
}

const (
	boardRecord = 32
	// BoardsMax bounds the boards of a reply.
	BoardsMax = 32
)

// MarshalBoards encodes the answer to a Boards request.
func MarshalBoards(bs []BoardInfo) []byte {
	bs = bs[:min(len(bs), BoardsMax)]
	b := make([]byte, 12+boardRecord*len(bs))
	binary.LittleEndian.PutUint32(b[0:], protoMagic)
	binary.LittleEndian.PutUint32(b[4:], protoVersion)
	binary.LittleEndian.PutUint32(b[8:], uint32(len(bs)))
	for i, x := range bs {
		r := b[12+boardRecord*i:]
		binary.LittleEndian.PutUint32(r[0:], x.Index)
		binary.LittleEndian.PutUint32(r[4:], x.MTU)
		copy(r[8:14], x.MAC[:])
		putName(r[16:32], x.IfName)
	}
	return b
}

// UnmarshalBoards decodes the answer to a Boards request.
func UnmarshalBoards(b []byte) ([]BoardInfo, error) {
	if len(b) < 12 || binary.LittleEndian.Uint32(b[0:]) != protoMagic || binary.LittleEndian.Uint32(b[4:]) != protoVersion {
		return nil, fmt.Errorf("backend: bad board list of %d bytes", len(b))
	}
	n := binary.LittleEndian.Uint32(b[8:])
	if n > BoardsMax || len(b) != 12+boardRecord*int(n) {
		return nil, fmt.Errorf("backend: bad board list of %d bytes for %d boards", len(b), n)
	}
	bs := make([]BoardInfo, n)
	for i := range bs {
		r := b[12+boardRecord*i:]
		bs[i].Index = binary.LittleEndian.Uint32(r[0:])
		bs[i].MTU = binary.LittleEndian.Uint32(r[4:])
		copy(bs[i].MAC[:], r[8:14])
		bs[i].IfName = getName(r[16:32])
	}
	return bs, nil
}
