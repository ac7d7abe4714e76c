//go:build linux

package backend

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// MakeUserDir asks the service listening at socket to make the caller's
// state directory (<node state directory>/users/<uid>, 0700, owned by the
// caller: the service is root). It returns the service's answer.
func MakeUserDir(socket string) error {
	b, err := ask(socket, Request{UserDir: true}, ReplySize)
	if err != nil {
		return err
	}
	rep, err := UnmarshalReply(b)
	if err != nil {
		return err
	}
	if rep.Status != StatusOK {
		return fmt.Errorf("backend: state directory: %w: %s", rep.Status.Err(), rep.Message)
	}
	return nil
}

// Boards asks the service listening at socket which boards it serves (for
// a process that does not see them, such as one in a container with a
// network namespace of its own).
func Boards(socket string) ([]BoardInfo, error) {
	b, err := ask(socket, Request{Boards: true}, 12+boardRecord*BoardsMax)
	if err != nil {
		return nil, err
	}
	return UnmarshalBoards(b)
}

// ask sends one request to the service and returns its answer.
func ask(socket string, req Request, max int) ([]byte, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("backend: socket: %w", err)
	}
	defer unix.Close(fd)
	tv := unix.NsecToTimeval((5 * time.Second).Nanoseconds())
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: socket}); err != nil {
		return nil, fmt.Errorf("backend: connecting to the node service at %s: %w", socket, err)
	}
	if err := unix.Send(fd, req.Marshal(), 0); err != nil {
		return nil, fmt.Errorf("backend: request to %s: %w", socket, err)
	}
	buf := make([]byte, max+1)
	n, err := unix.Read(fd, buf)
	if err != nil {
		return nil, fmt.Errorf("backend: reply from %s: %w", socket, err)
	}
	return buf[:n], nil
}
