//go:build !linux

package backend

import (
	"errors"
	"time"

	"github.com/open-mx-go/open-mx-go/engine/link"
)

// Config describes the endpoint to open through the service.
type Config struct {
	Socket   string
	Board    uint32
	IfName   string
	Endpoint uint8
	Session  uint32
	Command  string
	Timeout  time.Duration
}

// Link is an endpoint's link through the service (Linux only).
type Link struct{ link.Link }

// Available reports whether a service socket exists (never, here).
func Available(string) bool { return false }

// Open fails: the backend needs Linux.
func Open(Config) (*Link, error) { return nil, errors.New("backend: only supported on Linux") }

// Command is this process's command name.
func Command() string { return "" }

// MakeUserDir fails: the backend needs Linux.
func MakeUserDir(string) error { return errors.New("backend: only supported on Linux") }

// Boards fails: the backend needs Linux.
func Boards(string) ([]BoardInfo, error) { return nil, errors.New("backend: only supported on Linux") }
