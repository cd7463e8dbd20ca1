//go:build linux && !386

package rxstamp

import (
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Supported reports whether this platform times received bytes by the
// kernel's receive timestamp (SO_TIMESTAMPNS).
const Supported = true

// Conn is a TCP connection that asks the kernel when the data of each read
// arrived (SO_TIMESTAMPNS on the socket, recvmsg with a control buffer).
// Its Read waits in Go's poller and honours deadlines like the TCP
// connection's own.
type Conn struct {
	*net.TCPConn
	raw  syscall.RawConn
	last atomic.Int64

	// Read state, used only by the goroutine inside Read.
	p      []byte
	n      int
	err    error
	msg    syscall.Msghdr
	iov    syscall.Iovec
	oob    [64]byte
	readFn func(fd uintptr) bool
}

// Wrap turns on kernel receive timestamps for a TCP connection and
// returns it as a *Conn; any other connection, or one whose socket refuses
// the option, is returned unchanged.
func Wrap(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		return c
	}
	sc := &Conn{TCPConn: tc, raw: raw}
	sc.readFn = sc.recv
	return sc
}

// Last returns the kernel's receive time of the newest segment the latest
// read returned, Unix ns (CLOCK_REALTIME), or 0 when that read carried
// none. Safe to call from any goroutine.
func (c *Conn) Last() int64 { return c.last.Load() }

// Read implements net.Conn: like the TCP connection's own Read (it waits
// in Go's poller and honours deadlines), and notes the kernel receive time.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.p, c.n, c.err = p, 0, nil
	err := c.raw.Read(c.readFn)
	n, rerr := c.n, c.err
	c.p, c.iov.Base = nil, nil
	if err == nil {
		err = rerr
	}
	if err != nil {
		return n, &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// recv is the poller callback: one recvmsg; false asks to wait for data.
func (c *Conn) recv(fd uintptr) bool {
	c.iov.Base = &c.p[0]
	c.iov.SetLen(len(c.p))
	c.msg.Iov = &c.iov
	c.msg.Iovlen = 1
	c.msg.Control = &c.oob[0]
	c.msg.SetControllen(len(c.oob))
	c.msg.Flags = 0
	for {
		n, _, e := syscall.Syscall(syscall.SYS_RECVMSG, fd, uintptr(unsafe.Pointer(&c.msg)), 0)
		switch e {
		case 0:
			c.n = int(n)
			if n > 0 {
				// A read without a timestamp leaves none: a stale one
				// would date these bytes by older ones.
				c.last.Store(rxTimestamp(c.oob[:min(int(c.msg.Controllen), len(c.oob))]))
			}
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		default:
			c.err = os.NewSyscallError("recvmsg", e)
			return true
		}
	}
}

// rxTimestamp returns the SCM_TIMESTAMPNS time in a control buffer, Unix
// ns, or 0 when it holds none.
func rxTimestamp(oob []byte) int64 {
	const hdr = syscall.SizeofCmsghdr
	for len(oob) >= hdr {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < hdr || l > len(oob) {
			return 0
		}
		if h.Level == syscall.SOL_SOCKET && h.Type == syscall.SCM_TIMESTAMPNS && l >= hdr+int(unsafe.Sizeof(syscall.Timespec{})) {
			ts := (*syscall.Timespec)(unsafe.Pointer(&oob[hdr]))
			return ts.Nano()
		}
		step := (l + int(unsafe.Sizeof(uintptr(0))) - 1) &^ (int(unsafe.Sizeof(uintptr(0))) - 1)
		if step >= len(oob) {
			return 0
		}
		oob = oob[step:]
	}
	return 0
}
