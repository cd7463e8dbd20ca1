//go:build !unix

package replay

import "time"

// processCPU returns 0 where getrusage is not available: the CPU check is
// then skipped.
func processCPU() time.Duration { return 0 }
