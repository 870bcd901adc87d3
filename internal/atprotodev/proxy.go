package atprotodev

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
)

// Proxy is a loopback proxy in front of the PDS that counts the calls it forwards and lets a test
// change what the client sees: drop the reply to a call after the PDS acted on it, or replace
// it. It changes nothing the PDS sees.
type Proxy struct {
	URL string

	mu     sync.Mutex
	calls  map[string]int // by XRPC method
	rules  []*Rule
	target *url.URL
	srv    *httptest.Server
}

// Rule changes the next replies to calls of one XRPC method.
type Rule struct {
	Method string
	After  int // calls of Method passed through unchanged first
	Times  int // how many replies it changes (default 1)
	// Drop closes the client's connection after the PDS answered (the PDS acted, the client
	// never learns it); else Status and Body replace the reply.
	Drop   bool
	Status int
	Body   string
	// Edit, when set, replaces the reply's body with Edit(body) (status kept).
	Edit func(body []byte) []byte
	// EchoAuth makes the replacing body quote the request's Authorization header, as a
	// misconfigured gateway's error page might.
	EchoAuth bool
}

// NewProxy starts a proxy in front of the network's PDS, on loopback; Close stops it.
func (n *Network) NewProxy() (*Proxy, error) {
	target, err := url.Parse(n.PDS)
	if err != nil {
		return nil, err
	}
	p := &Proxy{calls: map[string]int{}, target: target}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.srv.URL
	return p, nil
}

// Close stops the proxy.
func (p *Proxy) Close() { p.srv.Close() }

// On adds a rule for the next replies to its method.
func (p *Proxy) On(r *Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.Times == 0 {
		r.Times = 1
	}
	p.rules = append(p.rules, r)
}

// Count is how many calls of method the proxy forwarded.
func (p *Proxy) Count(method string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[method]
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/xrpc/")
	p.mu.Lock()
	p.calls[method]++
	var match *Rule
	for _, ru := range p.rules {
		if ru.Method != method || ru.Times == 0 {
			continue
		}
		if ru.After > 0 {
			ru.After--
			continue
		}
		ru.Times--
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
	case match != nil && match.Drop:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	case match != nil && match.Edit != nil:
		reply = match.Edit(reply)
	case match != nil && match.EchoAuth:
		status, reply = match.Status, []byte(match.Body+" (request had Authorization: "+r.Header.Get("Authorization")+")")
	case match != nil:
		status, reply = match.Status, []byte(match.Body)
	}
	for k, v := range resp.Header {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(status)
	w.Write(reply)
}
