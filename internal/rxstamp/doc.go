// Package rxstamp times received bytes by the kernel's receive timestamp
// instead of the moment a goroutine got around to reading them.
//
// On Linux a TCP socket with SO_TIMESTAMPNS reports, with each recvmsg,
// when the newest segment it returns was queued by the kernel. A Conn
// keeps that time (Last), so a client that is slow to wake — thousands of
// streams on a busy core — still times each event by its arrival. Elsewhere
// (including linux/386, where recvmsg is a socketcall) and on sockets
// that refuse the option, Wrap returns the connection unchanged and Of
// returns nil: callers fall back to the time of the read.
//
// The kernel turns receive timestamps on for the host a moment after the
// first socket asks (a deferred static key), so the first reads of a
// process may carry none; Last is 0 until one does.
package rxstamp

import (
	"context"
	"crypto/tls"
	"net"
)

// Dial returns a DialContext function that dials with d and wraps TCP
// connections with Wrap.
func Dial(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if !Supported {
		return d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return Wrap(c), nil
	}
}

// Listener wraps every accepted connection with Wrap.
type Listener struct{ net.Listener }

// Accept implements net.Listener.
func (l Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return Wrap(c), nil
}

// Of returns the *Conn under c (directly, or under a *tls.Conn), or nil.
func Of(c net.Conn) *Conn {
	switch nc := c.(type) {
	case *Conn:
		return nc
	case *tls.Conn:
		sc, _ := nc.NetConn().(*Conn)
		return sc
	}
	return nil
}
