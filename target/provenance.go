package target

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/agentperf/agentperf/schemas"
)

// Provenance is what a target says about itself and what replay ran on:
// recorded at the start of a run, stored in the run metadata and shown in
// the report. It holds no credentials (see the package doc). The type is
// the results footer's (schemas.Provenance).
type Provenance = schemas.Provenance

// ModelCard is one entry of GET /v1/models.
type ModelCard = schemas.ModelCard

// Answer is one endpoint's answer.
type Answer = schemas.Answer

// DescribeOptions configure Describe.
type DescribeOptions struct {
	// Client sends the requests; nil means http.DefaultClient.
	Client *http.Client
	// Header is sent with every request (e.g. the API key); it is never
	// recorded.
	Header http.Header
	// Model is the model replay will ask for; it picks the context
	// length among several listed models ("" takes the first).
	Model string
	// Timeout bounds each request; 0 means 3 s.
	Timeout time.Duration
}

// infoPaths are the self-description endpoints asked at the server root
// (the base URL without its trailing /v1): vLLM's, SGLang's and
// trtllm-serve's /version, SGLang's /server_info (/get_server_info before
// 0.5), TGI's /info and llama.cpp's /props.
var infoPaths = []string{"/version", "/server_info", "/get_server_info", "/info", "/props"}

// maxInfoBody bounds an endpoint body read, bytes.
const maxInfoBody = 1 << 20

// Describe asks the target at base (e.g. http://host:8000/v1; a trailing
// /v1 is optional, as for replay) what it is: GET /v1/models and the info
// endpoints at the server root, all at
// once with short timeouts. It never fails: an endpoint that does not
// answer is recorded as such. The result is detected (Detect) and carries
// the client host.
//
// Replay calls it once before the run (after the plan is loaded, before
// the probe) and stores the result in the run metadata.
func Describe(ctx context.Context, base string, opt DescribeOptions) Provenance {
	p := Provenance{BaseURL: redactURL(base), CollectedAt: time.Now().UTC(), Client: ClientHost()}
	if opt.Client == nil {
		opt.Client = http.DefaultClient
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 3 * time.Second
	}
	root := serverRoot(base)
	urls := []string{root + "/v1/models"}
	for _, p := range infoPaths {
		urls = append(urls, root+p)
	}
	answers := make([]Answer, len(urls))
	headers := make([]http.Header, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i], headers[i] = fetch(ctx, opt, u)
		}()
	}
	wg.Wait()
	p.Headers = map[string]string{}
	names := map[string]bool{}
	for i, a := range answers {
		if a.Status == http.StatusNotFound && a.Path == "/get_server_info" && answers[i-1].Status == http.StatusOK {
			continue // the new name answered
		}
		p.Endpoints = append(p.Endpoints, a)
		for k, v := range headers[i] {
			names[k] = true
			if keepHeader(k) && len(v) > 0 {
				p.Headers[k] = v[0]
			}
		}
	}
	for k := range names {
		p.HeaderNames = append(p.HeaderNames, k)
	}
	sort.Strings(p.HeaderNames)
	if len(p.Headers) == 0 {
		p.Headers = nil
	}
	p.Models = modelCards(answerOf(p, "/models"))
	det := Detect(p)
	p.Engine, p.Evidence, p.Version = string(det.Engine), det.Evidence, det.Version
	p.ModelRevision = modelRevision(p)
	p.ContextTokens, p.ContextSource = ContextLength(p, opt.Model)
	return p
}

// answerOf returns the body of the endpoint whose path ends with suffix
// and answered 200, or nil.
func answerOf(p Provenance, suffix string) json.RawMessage {
	for _, a := range p.Endpoints {
		if a.Status == http.StatusOK && strings.HasSuffix(a.Path, suffix) && len(a.Body) > 0 {
			return a.Body
		}
	}
	return nil
}

func fetch(ctx context.Context, opt DescribeOptions, u string) (Answer, http.Header) {
	a := Answer{Path: u}
	if pu, err := url.Parse(u); err == nil {
		a.Path = pu.Path
	}
	ctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		a.Error = err.Error()
		return a, nil
	}
	for k, v := range opt.Header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	resp, err := opt.Client.Do(req)
	if err != nil {
		a.Error = redactError(err)
		return a, nil
	}
	defer resp.Body.Close()
	a.Status = resp.StatusCode
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxInfoBody+1))
	switch {
	case err != nil:
		a.Error = "reading the body: " + redactError(err)
	case len(body) > maxInfoBody:
		a.Error = fmt.Sprintf("body over %d bytes, not kept", maxInfoBody)
	case resp.StatusCode == http.StatusOK:
		if red, ok := redactJSON(body); ok {
			a.Body = red
		} else {
			a.Error = "not JSON"
		}
	}
	return a, resp.Header
}

// redactError drops URLs from transport errors (they may carry user info).
func redactError(err error) string {
	if ue, ok := err.(*url.Error); ok {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}

// redactURL returns u without user info, query and fragment.
func redactURL(u string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	pu.User, pu.RawQuery, pu.Fragment, pu.ForceQuery = nil, "", "", false
	return pu.String()
}

// keptHeaders are the response headers provenance records: what names the
// server software, never what identifies an account or a session.
var keptHeaders = map[string]bool{
	"Server": true, "Via": true, "X-Powered-By": true, "X-Served-By": true,
	"Openai-Version": true, "Anthropic-Version": true, "X-Vllm-Version": true,
}

func keepHeader(k string) bool { return keptHeaders[http.CanonicalHeaderKey(k)] }

// maxKeptString is the longest string value kept in a recorded body,
// bytes; longer ones (chat templates) are replaced by their length.
const maxKeptString = 1024

// redactJSON returns body with secret-named keys' values replaced and long
// strings elided, and whether body was JSON.
func redactJSON(body []byte) (json.RawMessage, bool) {
	var v any
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	out, err := json.Marshal(redactValue(v))
	if err != nil {
		return nil, false
	}
	return out, true
}

func redactValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if secretKey(k) && e != nil {
				t[k] = "[redacted]"
				continue
			}
			t[k] = redactValue(e)
		}
	case []any:
		for i, e := range t {
			t[i] = redactValue(e)
		}
	case string:
		if len(t) > maxKeptString {
			return fmt.Sprintf("[%d bytes omitted]", len(t))
		}
	}
	return v
}

// secretKey reports whether a JSON key names a credential: SGLang's
// /server_info, for one, returns its api_key and admin_api_key.
func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"secret", "password", "passwd", "credential", "cookie", "authorization", "private"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	k = strings.ReplaceAll(k, "-", "_")
	return k == "token" || k == "key" || k == "apikey" || strings.HasSuffix(k, "_key") ||
		strings.HasSuffix(k, "apikey") || strings.HasSuffix(k, "_token") || strings.HasPrefix(k, "token_")
}

func modelCards(body json.RawMessage) []ModelCard {
	if body == nil {
		return nil
	}
	var list struct {
		Data []struct {
			ID          string `json:"id"`
			OwnedBy     string `json:"owned_by"`
			MaxModelLen int    `json:"max_model_len"`
			Meta        struct {
				NCtx      int `json:"n_ctx"`
				NCtxTrain int `json:"n_ctx_train"`
			} `json:"meta"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &list) != nil {
		return nil
	}
	out := make([]ModelCard, 0, len(list.Data))
	for _, m := range list.Data {
		out = append(out, ModelCard{ID: m.ID, OwnedBy: m.OwnedBy, MaxModelLen: m.MaxModelLen,
			NCtx: m.Meta.NCtx, NCtxTrain: m.Meta.NCtxTrain})
	}
	return out
}
