package bluesky_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// proxy is a loopback proxy in front of the PDS that counts the calls it forwards and lets a test
// change what the client sees: drop the reply to a call after the PDS acted on it, or replace
// it. It changes nothing the PDS sees.
type proxy struct {
	URL string

	mu     sync.Mutex
	calls  map[string]int // by XRPC method
	rules  []*rule
	target *url.URL
}

// rule changes the next replies to calls of one XRPC method.
type rule struct {
	method string
	after  int // calls of method passed through unchanged first
	times  int // how many replies it changes
	// drop closes the client's connection after the PDS answered (the PDS acted, the client
	// never learns it); else status and body replace the reply.
	drop   bool
	status int
	body   string
	// edit, when set, replaces the reply's body with edit(body) (status kept).
	edit func(body []byte) []byte
	// echoAuth makes the replacing body quote the request's Authorization header, as a
	// misconfigured gateway's error page might.
	echoAuth bool
}

func newProxy(t *testing.T) *proxy {
	t.Helper()
	target, err := url.Parse(network(t).PDS)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{calls: map[string]int{}, target: target}
	srv := httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// on adds a rule for the next replies to method.
func (p *proxy) on(r *rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.times == 0 {
		r.times = 1
	}
	p.rules = append(p.rules, r)
}

// count is how many calls of method the proxy forwarded.
func (p *proxy) count(method string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[method]
}

func (p *proxy) serve(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/xrpc/")
	p.mu.Lock()
	p.calls[method]++
	var match *rule
	for _, ru := range p.rules {
		if ru.method != method || ru.times == 0 {
			continue
		}
		if ru.after > 0 {
			ru.after--
			continue
		}
		ru.times--
		match = ru
		break
	}
	p.mu.Unlock()

	body, _ := io.ReadAll(r.Body)
	out, err := http.NewRequestWithContext(r.Context(), r.Method, p.target.String()+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(resp.Body)
	status := resp.StatusCode
	switch {
	case match != nil && match.drop:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	case match != nil && match.edit != nil:
		reply = match.edit(reply)
	case match != nil && match.echoAuth:
		status, reply = match.status, []byte(match.body+" (request had Authorization: "+r.Header.Get("Authorization")+")")
	case match != nil:
		status, reply = match.status, []byte(match.body)
	}
	for k, v := range resp.Header {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(status)
	w.Write(reply)
}
