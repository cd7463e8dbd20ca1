package wsframe

import (
	"fmt"
	"testing"
)

// BenchmarkReader measures reading a server's stream of small event
// messages (as Codex receives them: ~150-byte output_text.delta events),
// plain and permessage-deflate, per message; run with make bench.
func BenchmarkReader(b *testing.B) {
	for _, deflate := range []bool{false, true} {
		b.Run(fmt.Sprintf("deflate=%v", deflate), func(b *testing.B) {
			var d deflater
			var stream []byte
			const n = 1000
			for i := 0; i < n; i++ {
				ev := []byte(fmt.Sprintf(`{"type":"response.output_text.delta","sequence_number":%d,"item_id":"msg_0a1b2c","output_index":1,"content_index":0,"delta":" token%d","logprobs":[]}`, i, i%97))
				if deflate {
					stream = append(stream, frame(true, true, opText, nil, d.message(ev))...)
				} else {
					stream = append(stream, frame(true, false, opText, nil, ev)...)
				}
			}
			b.SetBytes(int64(len(stream)) / n)
			b.ResetTimer()
			for i := 0; i < b.N; i += n {
				r := &Reader{Deflate: deflate}
				got := 0
				// Fed in 4 KiB reads, as they come off a connection.
				for off := 0; off < len(stream); off += 4096 {
					r.Feed(stream[off:min(off+4096, len(stream))], func(Message) { got++ })
				}
				if got != n {
					b.Fatalf("%d messages", got)
				}
			}
		})
	}
}
