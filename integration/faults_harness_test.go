package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"resurge/devstack"
	"resurge/domain"
	"resurge/internal/faultcheck"
	"resurge/workflows"
)

// The fault tests (faults_*_test.go) run the whole stack with a fixed platform token and a
// logger that sees everything (debug included). Every stack they start is scanned for the
// token when its test ends, before it stops: every workflow history in its namespace and every
// log line (see secrets_test.go).
//
// The light fault tests (a few dozen posts, mostly waiting on timers and retries) call
// t.Parallel: they run two at a time (-parallel defaults to GOMAXPROCS) after the sequential
// tests. The heavy ones (200 posts through server restarts, 500 posts under a lock, 50 posts
// acting at once around a worker kill) stay sequential: on a 2-core box they need it to
// themselves.

// soakRounds is how many rounds a soak-able fault test runs: RESURGE_SOAK_TRIALS, else 5 with
// RESURGE_SOAK=1, else 1.
func soakRounds() int { return faultcheck.SoakRounds(5) }

// faultStack is a dev stack with what the fault tests look at.
type faultStack struct {
	*devstack.Stack
	token string
	logs  *logWatch
	// safety reaches the arbiter through the stack's own client, which lives as long as the
	// stack (the worker's client may be killed).
	safety *workflows.SafetyClient
}

// startFaultStack starts a dev stack (no Web UI, simulated platform at 60x, a known platform
// token, every log captured) and stops it when the test ends, after scanning its histories and
// logs for the token.
func startFaultStack(t *testing.T, opts devstack.Options) *faultStack {
	t.Helper()
	if opts.UIPort == 0 {
		opts.UIPort = -1
	}
	if opts.SimToken == "" {
		opts.SimToken = newSimToken(t)
	}
	logs := newLogWatch(opts.SimToken)
	opts.Logger = slog.New(logs.handler())
	s := startStack(t, opts)
	fs := &faultStack{Stack: s, token: opts.SimToken, logs: logs}
	fs.safety = &workflows.SafetyClient{Client: s.Client, Policy: s.Wiring.Safety.Policy, Monitor: s.Wiring.Safety.Monitor}
	// Cleanups run last-in first-out: this one runs while the stack is still up.
	t.Cleanup(func() { scanForToken(t, fs) })
	return fs
}

// newSimToken is a random token with a prefix that cannot occur by chance.
func newSimToken(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "simtok-" + hex.EncodeToString(b)
}

// ---- logs ----

// logWatch receives every log record of a stack: its token watch scans each formatted line for
// the token as it is written (so nothing needs to be kept), it counts the simulated platform's
// requests, and it shows warnings and errors on stderr as testLogger does.
type logWatch struct {
	tokens *faultcheck.TokenWatch

	mu       sync.Mutex
	requests []simRequest
}

// simRequest is one request the simulated platform logged.
type simRequest struct {
	Method, Path string
	Status       int
}

func newLogWatch(token string) *logWatch { return &logWatch{tokens: faultcheck.NewTokenWatch(token)} }

func (w *logWatch) handler() slog.Handler {
	return fanout{
		slog.NewTextHandler(w.tokens, &slog.HandlerOptions{Level: slog.LevelDebug}),
		requestCounter{w},
		slog.NewTextHandler(&cappedWriter{w: os.Stderr, left: maxStderrLines}, &slog.HandlerOptions{Level: slog.LevelWarn}),
	}
}

// maxStderrLines bounds the warnings and errors one stack prints: an overloaded server logs
// every refused request, which would bury the test's own output.
const maxStderrLines = 200

// cappedWriter writes the first left lines, then drops the rest, saying so once.
type cappedWriter struct {
	mu   sync.Mutex
	w    *os.File
	left int
}

func (c *cappedWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.left > 0:
		c.left--
		return c.w.Write(p)
	case c.left == 0:
		c.left--
		fmt.Fprintf(c.w, "(more warnings and errors of this stack are not shown)\n")
	}
	return len(p), nil
}

func (w *logWatch) stats() faultcheck.TokenStats { return w.tokens.Stats() }

// requestsMatching returns the platform requests for which keep returns true.
func (w *logWatch) requestsMatching(keep func(simRequest) bool) []simRequest {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []simRequest
	for _, r := range w.requests {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// requestCounter records the simulated platform's per-request log lines.
type requestCounter struct{ w *logWatch }

func (requestCounter) Enabled(context.Context, slog.Level) bool { return true }
func (c requestCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "request" {
		return nil
	}
	var req simRequest
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "method":
			req.Method = a.Value.String()
		case "path":
			req.Path = a.Value.String()
		case "status":
			req.Status = int(a.Value.Int64())
		}
		return true
	})
	if req.Path == "" {
		return nil
	}
	c.w.mu.Lock()
	c.w.requests = append(c.w.requests, req)
	c.w.mu.Unlock()
	return nil
}
func (c requestCounter) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c requestCounter) WithGroup(string) slog.Handler      { return c }

// fanout sends every record to each handler that wants it.
type fanout []slog.Handler

func (f fanout) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range f {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	for _, h := range f {
		if h.Enabled(ctx, r.Level) {
			_ = h.Handle(ctx, r.Clone())
		}
	}
	return nil
}

func (f fanout) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithAttrs(attrs)
	}
	return out
}

func (f fanout) WithGroup(name string) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithGroup(name)
	}
	return out
}

// ---- histories, posts and effects (shared with production/ through faultcheck) ----

// scanForToken fails the test if the stack's token appears in any history or log line.
func scanForToken(t *testing.T, fs *faultStack) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	scan, err := faultcheck.ScanHistories(ctx, fs.Client, fs.token)
	if err != nil {
		if t.Failed() {
			t.Logf("token scan: %v", err)
			return
		}
		t.Errorf("token scan: %v", err)
		return
	}
	logs := fs.logs.stats()
	t.Logf("token scan: %d executions, %d history events, %d log lines (%d KB) in %s",
		scan.Workflows, scan.Events, logs.Lines, logs.Bytes/1024, time.Since(start).Round(time.Millisecond))
	if len(scan.Leaks) > 0 {
		t.Errorf("the platform token appears in %d history events, e.g. %v", len(scan.Leaks), scan.Leaks[:min(5, len(scan.Leaks))])
	}
	if len(logs.Leaks) > 0 {
		t.Errorf("the platform token appears in the logs, e.g.:\n%s", strings.Join(logs.Leaks, ""))
	}
}

// waitPosts polls the posts not done yet until done holds for each, or d passes, and dumps a
// late post's workflow before failing. It returns the last status of each post.
func waitPosts(t *testing.T, fs *faultStack, d time.Duration, what string, ids []string, done func(workflows.PostStatus) bool) map[string]workflows.PostStatus {
	t.Helper()
	return faultcheck.WaitPosts(t, fs.Client, d, what, ids, done, func(id string) { dumpWorkflow(t, fs.Stack, workflows.PostWorkflowID(id)) })
}

// arbiterDecisions reads every arbitrate update the arbiter completed, oldest first.
func arbiterDecisions(t *testing.T, fs *faultStack) []faultcheck.Decision {
	t.Helper()
	d, err := faultcheck.ArbiterDecisions(testContext(t, time.Minute), fs.Client)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// loadTolerantMonitor is the default monitor configuration except that it does not grade
// agents on response time: on a loaded 2-core test box hundreds of posts' actions wait for
// the worker, and a slow agent is (rightly) graded tier 2, whose threads need an approval.
// The many-post tests are about the lock and restarts, not about that.
func loadTolerantMonitor() workflows.MonitorConfig {
	p := domain.DefaultAnomalyPolicy()
	for i := range p.Tiers {
		p.Tiers[i].ResponseTimeMin = 24 * 3600
	}
	return workflows.MonitorConfig{Policy: p, EvalInterval: time.Second}
}

// waitActed waits until every post in ids has an effect on the platform. It looks at the
// platform only: many-post tests must not load the worker with status queries.
func waitActed(t *testing.T, fs *faultStack, d time.Duration, what string, ids []string) {
	t.Helper()
	deadline := time.Now().Add(d)
	var missing []string
	for {
		acted := map[string]bool{}
		for _, e := range fs.Sim.Effects() {
			acted[e.PostID] = true
		}
		missing = missing[:0]
		for _, id := range ids {
			if !acted[id] {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, id := range missing[:min(2, len(missing))] {
		st, err := postStatus(t, fs.Stack, id)
		t.Logf("%s: state=%s cycles=%d last_error=%q permission=%+v log=%+v (%v)", id, st.State, st.Cycles, st.LastError, st.LastPermission, st.Log, err)
		dumpWorkflow(t, fs.Stack, workflows.PostWorkflowID(id))
	}
	t.Fatalf("timed out after %s waiting for %s: %d of %d posts without an effect, e.g. %s", d, what, len(missing), len(ids), missing[0])
}

// countRunning counts the running workflows that match a visibility query.
func countRunning(t *testing.T, fs *faultStack, query string) int64 {
	t.Helper()
	resp, err := fs.Client.CountWorkflow(testContext(t, 30*time.Second), &workflowservice.CountWorkflowExecutionsRequest{
		Query: "ExecutionStatus = 'Running' AND " + query,
	})
	if err != nil {
		t.Fatalf("count %q: %v", query, err)
	}
	return resp.Count
}
