//go:build !unix

package proxy

import (
	"os"
	"path/filepath"
)

// lockSpool creates the lock file; without flock, two recorders on one
// spool are not detected on this platform.
func lockSpool(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
}
