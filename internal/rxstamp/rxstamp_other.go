//go:build !linux || 386

package rxstamp

import "net"

// Supported reports whether this platform times received bytes by the
// kernel's receive timestamp; elsewhere than Linux it does not.
const Supported = false

// Conn is never created on this platform.
type Conn struct{ net.Conn }

// Wrap returns c unchanged on this platform.
func Wrap(c net.Conn) net.Conn { return c }

// Last returns 0 on this platform.
func (c *Conn) Last() int64 { return 0 }
