package proxy

import (
	"bufio"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStreamingNotBuffered proves each SSE event reaches the client before
// the upstream sends the next: the upstream waits for the client to confirm
// event k before sending event k+1, so any buffering in the proxy would
// deadlock. Both modes.
func TestStreamingNotBuffered(t *testing.T) {
	got := make(chan int)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write([]byte("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":1}}}\n\n"))
		w.(http.Flusher).Flush()
		for k := 0; k < 5; k++ {
			select {
			case <-got:
			case <-time.After(5 * time.Second):
				return // the client never saw the previous event: buffered
			}
			w.Write([]byte("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n"))
			w.(http.Flusher).Flush()
		}
		<-got
		w.Write([]byte("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
	}))
	defer up.Close()
	consume := func(t *testing.T, c *http.Client, url string) {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"model":"m","stream":true,"messages":[{"role":"user","content":"x"}]}`))
		req.Header.Set("anthropic-version", "2023-06-01")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		events := 0
		for {
			line, err := br.ReadString('\n')
			if line == "\n" {
				events++
				if events <= 6 {
					select {
					case got <- events:
					case <-time.After(5 * time.Second):
						t.Fatalf("upstream stopped after %d events", events)
					}
				}
			}
			if err != nil {
				break
			}
		}
		if events != 7 {
			t.Errorf("%d events arrived, want 7", events)
		}
	}
	t.Run("reverse", func(t *testing.T) {
		run := startRun(t, Config{Front: FrontOptions{Upstream: mustURL(up.URL)}, Recorder: Options{Out: filepath.Join(t.TempDir(), "t")}})
		consume(t, http.DefaultClient, run.url+"/v1/messages")
		run.stop(t)
	})
	t.Run("mitm", func(t *testing.T) {
		caDir := t.TempDir()
		maps, _ := ParseMap([]string{"api.anthropic.com=" + up.URL})
		run := startRun(t, Config{MITM: true, CADir: caDir, Front: FrontOptions{Map: maps}, Recorder: Options{Out: filepath.Join(t.TempDir(), "t")}})
		pem, _ := os.ReadFile(filepath.Join(caDir, CACertFile))
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(pem)
		consume(t, proxyClient(run.url, roots), "https://api.anthropic.com/v1/messages")
		run.stop(t)
	})
}

// TestShutdownWaitsForStreams stops the recorder while a stream is in
// flight: the stream completes for the client and its turn is written.
func TestShutdownWaitsForStreams(t *testing.T) {
	for _, mitm := range []bool{false, true} {
		name := map[bool]string{false: "reverse", true: "mitm"}[mitm]
		t.Run(name, func(t *testing.T) {
			fake, _ := startFake(t, 10, 40*time.Millisecond)
			out := filepath.Join(t.TempDir(), "t")
			caDir := t.TempDir()
			cfg := Config{Front: FrontOptions{Upstream: mustURL(fake.URL)}, Recorder: Options{Out: out}}
			client, url := http.DefaultClient, ""
			if mitm {
				maps, _ := ParseMap([]string{"api.openai.com=" + fake.URL})
				cfg = Config{MITM: true, CADir: caDir, Front: FrontOptions{Map: maps}, Recorder: Options{Out: out}}
			}
			run := startRun(t, cfg)
			url = run.url + "/v1/chat/completions"
			if mitm {
				pem, _ := os.ReadFile(filepath.Join(caDir, CACertFile))
				roots := x509.NewCertPool()
				roots.AppendCertsFromPEM(pem)
				client, url = proxyClient(run.url, roots), "https://api.openai.com/v1/chat/completions"
			}
			done := make(chan string, 1)
			go func() {
				resp, err := client.Post(url, "application/json", strings.NewReader(`{"model":"m","stream":true,"messages":[{"role":"user","content":"x"},{"role":"assistant","content":"y"},{"role":"tool","tool_call_id":"c","content":"z"}]}`))
				if err != nil {
					done <- err.Error()
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				done <- string(b)
			}()
			time.Sleep(120 * time.Millisecond) // mid-stream
			run.stop(t)
			if b := <-done; !strings.HasSuffix(b, "data: [DONE]\n\n") {
				t.Fatalf("stream cut by shutdown: %q", b)
			}
			if tr := readTrace(t, out); tr.turns() != 1 {
				t.Errorf("%d turns written, want the in-flight one", tr.turns())
			}
		})
	}
}
