package integration

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"resurge/devstack"
	"resurge/domain"
	"resurge/internal/faultcheck"
	"resurge/platform"
	"resurge/platform/simclient"
	"resurge/workflows"
)

// Every stack the fault tests start is scanned for its platform token when its test ends:
// every history of every workflow in its namespace, and every log line (startFaultStack,
// scanForToken). This test makes the token go where it could leak from: a gateway in front of
// the platform echoes the request's Authorization header into its replies (metrics about
// "another post" whose ID quotes it, a 400 and 503s on actions). The adapter must redact it before the reply
// becomes an error, so histories (failed records, rejected samples, activity failures) and
// logs (the SDK logs every failed activity) show "[redacted]" and never the token.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel() // light: mostly waits on timers (see faults_harness_test.go)
	token := newSimToken(t)
	simAddr := freeAddr(t)
	gw := newEchoGateway(t, "http://"+simAddr)
	fs := startFaultStack(t, devstack.Options{
		SimToken: token,
		SimAddr:  simAddr,
		WrapPlatform: func(platform.Platform) platform.Platform {
			return simclient.New(gw.srv.URL, token, simclient.WithTimeout(10*time.Second))
		},
	})
	posts := []workflows.PostInput{
		testPost("grow-leak-metrics", "agent-leak-1"), // metrics: a post_id quoting the token
		testPost("die-leak-action", "agent-leak-2"),   // the action: a 400 quoting it
		testPost("grow-leak-retry", "agent-leak-3"),   // the action: two 503s quoting it, then through
		testPost("stall-clean", "agent-leak-4"),       // nothing odd
	}
	faultcheck.StartPosts(t, fs.Client, posts)

	waitPosts(t, fs, time.Minute, "the garbled metrics rejected", []string{"grow-leak-metrics"},
		func(st workflows.PostStatus) bool { return st.RejectedCount >= 2 })
	sts := waitPosts(t, fs, 2*time.Minute, "the actions recorded", []string{"die-leak-action", "grow-leak-retry", "stall-clean"},
		func(st workflows.PostStatus) bool {
			return faultcheck.HasStatus(st, domain.StatusFailed) || faultcheck.HasStatus(st, domain.StatusSuccess)
		})
	if r := sts["die-leak-action"].Log[0]; r.Status != domain.StatusFailed || r.ErrorCode != platform.CodeBadRequest ||
		!strings.Contains(strings.Join(r.Reasons, " "), "[redacted]") {
		t.Errorf("die-leak-action: %+v, want a failed record whose reason quotes the redacted header", r)
	}
	if r := sts["grow-leak-retry"].Log[0]; r.Status != domain.StatusSuccess || r.Attempts != 3 {
		t.Errorf("grow-leak-retry: %+v, want success on the third attempt", r)
	}
	st, err := postStatus(t, fs.Stack, "grow-leak-metrics")
	if err != nil || len(st.Rejected) == 0 || !strings.Contains(st.Rejected[0].Error, "[redacted]") ||
		!strings.Contains(st.LastError, "[redacted]") {
		t.Errorf("grow-leak-metrics: rejected %+v, last error %q (%v), want the redacted page", st.Rejected, st.LastError, err)
	}
	if n := gw.echoed.Load(); n < 5 {
		t.Fatalf("the gateway echoed the token %d times: the test did not exercise the leak", n)
	}

	// The scan every fault test gets at its end, here with proof that it looked at the
	// right places: the echoes are in the histories and the logs, redacted.
	scan, err := faultcheck.ScanHistories(testContext(t, time.Minute), fs.Client, fs.token)
	if err != nil {
		t.Fatal(err)
	}
	logs := fs.logs.stats()
	if len(scan.Leaks) > 0 || len(logs.Leaks) > 0 {
		t.Fatalf("the token leaked: history events %v, log lines %q", scan.Leaks, logs.Leaks)
	}
	if scan.Redacted == 0 || logs.Redacted == 0 {
		t.Fatalf("the echoed token reached %d history events and %d log lines, redacted: want both > 0", scan.Redacted, logs.Redacted)
	}
	t.Logf("%d executions, %d events (%d with a redacted echo), %d log lines with one: no token", scan.Workflows, scan.Events, scan.Redacted, logs.Redacted)
}

// echoGateway proxies to the platform, except for posts whose ID says "leak-", whose replies
// quote the request's Authorization header.
type echoGateway struct {
	srv     *httptest.Server
	echoed  atomic.Int64
	mu      sync.Mutex
	retries map[string]int
}

func newEchoGateway(t *testing.T, target string) *echoGateway {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	g := &echoGateway{retries: map[string]int{}}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		echo := func(status int, contentType, body string) {
			g.echoed.Add(1)
			w.Header().Set("Content-Type", contentType)
			w.WriteHeader(status)
			fmt.Fprint(w, body)
		}
		switch {
		case strings.Contains(r.URL.Path, "/grow-leak-metrics/metrics"):
			// A reply about another post, the ID quoting the header: the adapter refuses it and
			// says which post_id it got.
			echo(200, "application/json", fmt.Sprintf(`{"post_id":%q,"at":%q,"impressions":10,"engagements":1}`,
				"Authorization: "+auth, time.Now().UTC().Format(time.RFC3339Nano)))
		case strings.Contains(r.URL.Path, "/die-leak-action/") && r.Method != http.MethodGet:
			echo(400, "application/json", `{"error":"bad_request","message":"refused request with header Authorization: `+auth+`"}`)
		case strings.Contains(r.URL.Path, "/grow-leak-retry/") && r.Method != http.MethodGet && g.retry(r.URL.Path) <= 2:
			echo(503, "text/plain", "upstream unavailable; request headers: Authorization: "+auth)
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *echoGateway) retry(path string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.retries[path]++
	return g.retries[path]
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
