//go:build linux && !386

package rxstamp

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// TestStampConnTimesArrivalNotRead: bytes that wait in the socket while the
// reader is busy keep the time they arrived, not the time they were read.
func TestStampConnTimesArrivalNotRead(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// The server writes one message each time it is asked to.
	msgs := make(chan string)
	written := make(chan time.Time)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		for m := range msgs {
			written <- time.Now()
			c.Write([]byte(m))
		}
	}()
	c, err := Dial(&net.Dialer{})(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, ok := c.(*Conn)
	if !ok {
		t.Fatalf("dialStamped returned %T, want *Conn", c)
	}
	buf := make([]byte, 64)
	// The kernel turns receive timestamps on for the whole host a moment
	// after the first socket asks (a deferred static key): warm up.
	for i := 0; sc.Last() == 0; i++ {
		if i == 50 {
			t.Fatal("no kernel receive timestamp after 50 reads")
		}
		msgs <- "w"
		<-written
		time.Sleep(10 * time.Millisecond)
		if _, err := sc.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range []string{"first", "second"} {
		msgs <- want
		w := <-written
		// The reader is late: the bytes sit in the socket for 80 ms.
		time.Sleep(80 * time.Millisecond)
		n, err := sc.Read(buf)
		readAt := time.Now()
		if err != nil {
			t.Fatal(err)
		}
		if got := string(buf[:n]); got != want {
			t.Fatalf("read %q, want %q", got, want)
		}
		stamp := time.Unix(0, sc.Last())
		if d := stamp.Sub(w); d < -time.Millisecond || d > 20*time.Millisecond {
			t.Errorf("read %d: kernel stamp %v after the write, want within 20 ms", i, d)
		}
		if lag := readAt.Sub(stamp); lag < 70*time.Millisecond {
			t.Errorf("read %d: read %v after the stamp, want the 80 ms the bytes waited", i, lag)
		}
	}
	close(msgs) // the server closes the connection
	// EOF and deadlines behave as on a plain TCP connection.
	sc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	for {
		_, err = sc.Read(buf)
		if err != nil {
			break
		}
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("after the peer closed: %v, want EOF or deadline", err)
	}
	sc.SetReadDeadline(time.Time{})
}

func TestStampConnDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			time.Sleep(time.Second)
			c.Close()
		}
	}()
	c, err := Dial(&net.Dialer{})(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err = c.Read(make([]byte, 8))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past the deadline: %v, want a timeout net.Error", err)
	}
}

func TestRxTimestampParse(t *testing.T) {
	hdr := syscall.SizeofCmsghdr
	mk := func(level, typ int32, sec, nsec int64) []byte {
		b := make([]byte, hdr+16)
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&b[0]))
		h.Level, h.Type = level, typ
		h.SetLen(hdr + 16)
		binary.NativeEndian.PutUint64(b[hdr:], uint64(sec))
		binary.NativeEndian.PutUint64(b[hdr+8:], uint64(nsec))
		return b
	}
	for _, tc := range []struct {
		name string
		oob  []byte
		want int64
	}{
		{"timestamp", mk(syscall.SOL_SOCKET, syscall.SCM_TIMESTAMPNS, 3, 5), 3e9 + 5},
		{"other then timestamp", append(mk(syscall.SOL_SOCKET, syscall.SCM_RIGHTS, 1, 1), mk(syscall.SOL_SOCKET, syscall.SCM_TIMESTAMPNS, 7, 9)...), 7e9 + 9},
		{"other only", mk(syscall.SOL_IP, syscall.SCM_TIMESTAMPNS, 1, 1), 0},
		{"empty", nil, 0},
		{"short", make([]byte, hdr-1), 0},
		{"bad length", func() []byte { b := mk(syscall.SOL_SOCKET, syscall.SCM_TIMESTAMPNS, 1, 1); b[0] = 200; return b }(), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rxTimestamp(tc.oob); got != tc.want {
				t.Errorf("rxTimestamp = %d, want %d", got, tc.want)
			}
		})
	}
}

// FuzzRxTimestamp: any control buffer parses without a panic, and a
// buffer holding one well-formed timestamp message yields its time.
func FuzzRxTimestamp(f *testing.F) {
	hdr := syscall.SizeofCmsghdr
	good := make([]byte, hdr+16)
	h := (*syscall.Cmsghdr)(unsafe.Pointer(&good[0]))
	h.Level, h.Type = syscall.SOL_SOCKET, syscall.SCM_TIMESTAMPNS
	h.SetLen(hdr + 16)
	binary.NativeEndian.PutUint64(good[hdr:], 12)
	binary.NativeEndian.PutUint64(good[hdr+8:], 34)
	f.Add(good)
	f.Add([]byte{})
	f.Add(make([]byte, hdr))
	f.Fuzz(func(t *testing.T, oob []byte) {
		// Copy into 8-aligned memory, as the kernel's buffer is.
		words := make([]uint64, (len(oob)+7)/8)
		buf := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), len(words)*8)[:len(oob)]
		copy(buf, oob)
		ns := rxTimestamp(buf)
		if len(oob) == len(good) && string(oob) == string(good) && ns != 12e9+34 {
			t.Fatalf("well-formed timestamp parsed as %d", ns)
		}
	})
}
