// Command fakeserver serves replay's fake target as its own process, so
// benchmarks can pin it to another core than the client. GET /truth
// returns what it really did: per request its cache-salt and session/turn
// marker, handler start and every token write, Unix ns (one JSON object a
// line).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/agentperf/agentperf/internal/rxstamp"
	"github.com/agentperf/agentperf/replay/internal/fake"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	ttft := flag.Duration("ttft", 20*time.Millisecond, "delay before the first token")
	itl := flag.Duration("itl", 20*time.Millisecond, "gap between events")
	perEvent := flag.Int("tokens-per-event", 1, "tokens per SSE event")
	tokens := flag.Int("tokens", 256, "output tokens when the request pins none")
	record := flag.Bool("record", false, "keep per-token send times for GET /truth")
	tick := flag.Duration("tick", 500*time.Microsecond, "send tokens from one loop waking this often (0: a timer per stream)")
	flag.Parse()
	srv := &fake.Server{TTFT: *ttft, ITL: *itl, TokensPerEvent: *perEvent, DefaultTokens: *tokens, Record: *record, Tick: *tick}
	mux := http.NewServeMux()
	mux.Handle("/v1/", srv)
	mux.HandleFunc("/truth", func(w http.ResponseWriter, r *http.Request) {
		bw := bufio.NewWriterSize(w, 1<<20)
		enc := json.NewEncoder(bw)
		for _, a := range srv.Arrivals() {
			t := make([]int64, len(a.TokenTimes))
			for i, x := range a.TokenTimes {
				t[i] = x.UnixNano()
			}
			var wire int64
			if !a.Wire.IsZero() {
				wire = a.Wire.UnixNano()
			}
			enc.Encode(struct {
				Salt, Marker string
				Start, Wire  int64
				Tokens       []int64
			}{a.Salt, a.Marker, a.Start.UnixNano(), wire, t})
		}
		bw.Flush()
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stdout, "listening on %s\n", ln.Addr())
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second, ConnContext: fake.ConnContext}
	log.Fatal(hs.Serve(rxstamp.Listener{Listener: ln}))
}
