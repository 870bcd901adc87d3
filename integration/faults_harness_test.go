package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"

	"resurge/devstack"
	"resurge/domain"
	"resurge/platform/sim"
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

// Environment variables for longer runs.
const (
	// envSoak=1 multiplies the trials and post counts of the fault tests.
	envSoak = "RESURGE_SOAK"
	// envSoakTrials sets the number of rounds of the soak-able fault tests directly.
	envSoakTrials = "RESURGE_SOAK_TRIALS"
)

// soakRounds is how many rounds a soak-able fault test runs: RESURGE_SOAK_TRIALS, else 5 with
// RESURGE_SOAK=1, else 1.
func soakRounds() int {
	if n, err := strconv.Atoi(os.Getenv(envSoakTrials)); err == nil && n > 0 {
		return n
	}
	if os.Getenv(envSoak) == "1" {
		return 5
	}
	return 1
}

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

// logWatch receives every log record of a stack: it scans each formatted line for the token as
// it is written (so nothing needs to be kept), counts the simulated platform's requests, and
// shows warnings and errors on stderr as testLogger does.
type logWatch struct {
	token string

	mu       sync.Mutex
	lines    int
	bytes    int
	leaks    []string
	requests []simRequest
	redacted int // lines carrying the adapter's redaction marker
}

// simRequest is one request the simulated platform logged.
type simRequest struct {
	Method, Path string
	Status       int
}

func newLogWatch(token string) *logWatch { return &logWatch{token: token} }

func (w *logWatch) handler() slog.Handler {
	return fanout{
		slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}),
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

// Write is called once per formatted record.
func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines++
	w.bytes += len(p)
	if bytes.Contains(p, []byte(w.token)) && len(w.leaks) < 5 {
		w.leaks = append(w.leaks, string(p))
	}
	if bytes.Contains(p, []byte("[redacted]")) {
		w.redacted++
	}
	return len(p), nil
}

func (w *logWatch) stats() (lines, size int, leaks []string, redacted int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lines, w.bytes, append([]string(nil), w.leaks...), w.redacted
}

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

// ---- histories ----

// historyScan is what scanning a namespace's histories found.
type historyScan struct {
	workflows, events int
	leaks             []string // "<workflow>/<run> event <id> <type>"
	redacted          int      // events carrying the adapter's redaction marker
}

// scanHistories reads every history of every workflow execution (open or closed, every run)
// in the stack's namespace and looks for the token in the events' bytes: payloads (inputs,
// results, signals, update arguments, memo, search attributes) and failure messages are
// stored verbatim there.
func scanHistories(ctx context.Context, fs *faultStack) (historyScan, error) {
	var scan historyScan
	for _, e := range listExecutions(ctx, fs) {
		if e.err != nil {
			return scan, e.err
		}
		scan.workflows++
		iter := fs.Client.GetWorkflowHistory(ctx, e.id, e.run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			ev, err := iter.Next()
			if err != nil {
				return scan, fmt.Errorf("history of %s/%s: %w", e.id, e.run, err)
			}
			scan.events++
			b, err := proto.Marshal(ev)
			if err != nil {
				return scan, err
			}
			if bytes.Contains(b, []byte(fs.token)) {
				scan.leaks = append(scan.leaks, fmt.Sprintf("%s/%s event %d %s", e.id, e.run, ev.EventId, ev.EventType))
			}
			if bytes.Contains(b, []byte("[redacted]")) {
				scan.redacted++
			}
		}
	}
	return scan, nil
}

type execution struct {
	id, run string
	err     error
}

// listExecutions lists every execution in the namespace (visibility, all pages).
func listExecutions(ctx context.Context, fs *faultStack) []execution {
	var out []execution
	var page []byte
	for {
		resp, err := fs.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{PageSize: 1000, NextPageToken: page})
		if err != nil {
			return append(out, execution{err: fmt.Errorf("list workflows: %w", err)})
		}
		for _, e := range resp.Executions {
			out = append(out, execution{id: e.Execution.WorkflowId, run: e.Execution.RunId})
		}
		if page = resp.NextPageToken; len(page) == 0 {
			return out
		}
	}
}

// scanForToken fails the test if the stack's token appears in any history or log line.
func scanForToken(t *testing.T, fs *faultStack) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	scan, err := scanHistories(ctx, fs)
	if err != nil {
		if t.Failed() {
			t.Logf("token scan: %v", err)
			return
		}
		t.Errorf("token scan: %v", err)
		return
	}
	lines, size, leaks, _ := fs.logs.stats()
	t.Logf("token scan: %d executions, %d history events, %d log lines (%d KB) in %s",
		scan.workflows, scan.events, lines, size/1024, time.Since(start).Round(time.Millisecond))
	if len(scan.leaks) > 0 {
		t.Errorf("the platform token appears in %d history events, e.g. %v", len(scan.leaks), scan.leaks[:min(5, len(scan.leaks))])
	}
	if len(leaks) > 0 {
		t.Errorf("the platform token appears in the logs, e.g.:\n%s", strings.Join(leaks, ""))
	}
}

// ---- posts ----

// massConfig is the configuration of the many-post tests: 3 samples 2 s apart (2 simulated
// minutes at 60x) before the first plan, long enough horizons to stay open.
func massConfig() domain.EvaluationConfig {
	return domain.EvaluationConfig{
		Window:              8 * time.Second,
		MinSamples:          3,
		SampleInterval:      2 * time.Second,
		CommentCooldown:     3 * time.Second,
		EditCooldown:        4 * time.Second,
		ThreadCooldown:      5 * time.Second,
		MaxActionsPerWindow: 2,
		Horizon:             10 * time.Minute,
	}
}

// massPosts returns n posts "<prefix>-<i>" with cfg, spread over agents agents.
func massPosts(prefix string, n, agents int, cfg domain.EvaluationConfig) []workflows.PostInput {
	out := make([]workflows.PostInput, n)
	for i := range out {
		p := testPost(fmt.Sprintf("%s-%d", prefix, i), fmt.Sprintf("agent-%s-%d", strings.SplitN(prefix, "-", 2)[0], i%agents))
		p.Config = cfg
		out[i] = p
	}
	return out
}

func postIDs(posts []workflows.PostInput) []string {
	ids := make([]string, len(posts))
	for i, p := range posts {
		ids[i] = p.Post.ID
	}
	return ids
}

// startPostsParallel starts posts with a few starts in flight at once.
func startPostsParallel(t *testing.T, fs *faultStack, posts []workflows.PostInput) {
	t.Helper()
	errs := parallel(len(posts), 16, func(i int) error {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		_, err := workflows.StartPost(ctx, fs.Client, posts[i])
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start %s: %v", posts[i].Post.ID, err)
		}
	}
}

// parallel runs f(0..n-1) with at most width calls at once and returns their errors.
func parallel(n, width int, f func(i int) error) []error {
	errs := make([]error, n)
	sem := make(chan struct{}, width)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	return errs
}

// statuses queries every post's status, a few at a time. It returns the statuses that could be
// read and the first error.
func statuses(t *testing.T, fs *faultStack, ids []string) (map[string]workflows.PostStatus, error) {
	out := make([]workflows.PostStatus, len(ids))
	errs := parallel(len(ids), 16, func(i int) error {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		st, err := workflows.QueryPostStatus(ctx, fs.Client, ids[i])
		out[i] = st
		return err
	})
	// Every status that came back is kept: one query that timed out (its workflow task busy
	// with a stalled local activity) must not hide the others.
	m := make(map[string]workflows.PostStatus, len(ids))
	var first error
	for i, id := range ids {
		if errs[i] != nil {
			if first == nil {
				first = fmt.Errorf("status of %s: %w", id, errs[i])
			}
			continue
		}
		m[id] = out[i]
	}
	return m, first
}

// waitPosts polls the posts not done yet until done holds for each, or d passes. It returns
// the last status of each post.
func waitPosts(t *testing.T, fs *faultStack, d time.Duration, what string, ids []string, done func(workflows.PostStatus) bool) map[string]workflows.PostStatus {
	t.Helper()
	deadline := time.Now().Add(d)
	last := map[string]workflows.PostStatus{}
	pending := slices.Clone(ids)
	var lastErr error
	for len(pending) > 0 && time.Now().Before(deadline) {
		sts, err := statuses(t, fs, pending)
		lastErr = err
		var still []string
		for _, id := range pending {
			st, ok := sts[id]
			if ok {
				last[id] = st
			}
			if !ok || !done(st) {
				still = append(still, id)
			}
		}
		pending = still
		if len(pending) > 0 {
			time.Sleep(time.Second)
		}
	}
	if len(pending) > 0 {
		id := pending[0]
		st := last[id]
		dumpWorkflow(t, fs.Stack, workflows.PostWorkflowID(id))
		t.Fatalf("timed out after %s waiting for %s: %d of %d posts not there, e.g. %s: state=%s cycles=%d last_error=%q log=%+v rejected=%+v (last query error: %v)",
			d, what, len(pending), len(ids), id, st.State, st.Cycles, st.LastError, st.Log, st.Rejected, lastErr)
	}
	return last
}

// hasStatus reports whether the post's log has a record with status s.
func hasStatus(st workflows.PostStatus, s domain.ActionStatus) bool {
	return slices.ContainsFunc(st.Log, func(r domain.ActionRecord) bool { return r.Status == s })
}

// effectsByKey groups the platform's effects by idempotency key.
func effectsByKey(s *sim.Server) map[string][]sim.Effect {
	m := map[string][]sim.Effect{}
	for _, e := range s.Effects() {
		m[e.Key] = append(m[e.Key], e)
	}
	return m
}

// stopPosts stops the posts and returns their final action logs. A post takes a stop only
// between actions, so every record of a stopped post is final: comparing them with the
// platform cannot race with an action still on its way.
func stopPosts(t *testing.T, fs *faultStack, ids []string) map[string][]domain.ActionRecord {
	t.Helper()
	sums := make([]workflows.PostSummary, len(ids))
	errs := parallel(len(ids), 16, func(i int) error {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		if err := workflows.StopPost(ctx, fs.Client, ids[i], workflows.StopRequest{Reason: "test done"}); err != nil {
			return err
		}
		return fs.Client.GetWorkflow(ctx, workflows.PostWorkflowID(ids[i]), "").Get(ctx, &sums[i])
	})
	logs := make(map[string][]domain.ActionRecord, len(ids))
	for i, id := range ids {
		if errs[i] != nil {
			t.Fatalf("stop %s: %v", id, errs[i])
		}
		if !strings.HasPrefix(sums[i].EndReason, workflows.EndStopped) {
			t.Errorf("%s ended %q before it was stopped", id, sums[i].EndReason)
		}
		logs[id] = sums[i].Actions
	}
	return logs
}

// checkOneEffectPerRecord checks the platform against the posts' final logs: every key has at
// most one effect; every successful record has exactly one effect, on its post; every record
// is final; and every effect on these posts belongs to a successful record (nothing reached
// the platform that the workflows do not know about, nothing they recorded as done is
// missing). It returns the number of effects checked.
func checkOneEffectPerRecord(t *testing.T, fs *faultStack, logs map[string][]domain.ActionRecord) int {
	t.Helper()
	byKey := effectsByKey(fs.Sim)
	for k, es := range byKey {
		if len(es) != 1 {
			t.Errorf("key %s has %d effects on the platform, want 1: %+v", k, len(es), es)
		}
	}
	recorded := map[string]bool{}
	for id, log := range logs {
		keys := map[string]int{}
		for _, r := range log {
			keys[r.Key]++
			if keys[r.Key] > 1 {
				t.Errorf("%s: key %s has %d records", id, r.Key, keys[r.Key])
			}
			if r.Status == domain.StatusRunning {
				t.Errorf("%s: record %s still running in a stopped post", id, r.Key)
			}
			if r.Status != domain.StatusSuccess {
				continue
			}
			recorded[r.Key] = true
			es := byKey[r.Key]
			if len(es) != 1 || es[0].PostID != id {
				t.Errorf("%s: successful record %s (%s) has effects %+v on the platform, want one on this post", id, r.Key, r.Action, es)
			}
		}
	}
	n := 0
	for k, es := range byKey {
		if _, ours := logs[es[0].PostID]; !ours {
			continue
		}
		n++
		if !recorded[k] {
			t.Errorf("effect %s (key %s, post %s) has no successful record in its post's log", es[0].ID, k, es[0].PostID)
		}
	}
	return n
}

// ---- the arbiter's decisions ----

// decision is one arbitration, as the arbiter's history recorded it.
type decision struct {
	Key string
	domain.ArbitrationDecision
}

// arbiterDecisions reads every arbitrate update the arbiter completed, in every run (it
// continues as new), oldest first.
func arbiterDecisions(t *testing.T, fs *faultStack) []decision {
	t.Helper()
	ctx := testContext(t, time.Minute)
	var runs [][]*historypb.HistoryEvent
	run := ""
	for {
		var events []*historypb.HistoryEvent
		iter := fs.Client.GetWorkflowHistory(ctx, workflows.ArbiterWorkflowID, run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			ev, err := iter.Next()
			if err != nil {
				t.Fatalf("arbiter history: %v", err)
			}
			events = append(events, ev)
		}
		runs = append(runs, events)
		prev := ""
		if len(events) > 0 {
			prev = events[0].GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
		}
		if prev == "" {
			break
		}
		run = prev
	}
	slices.Reverse(runs)
	dc := converter.GetDefaultDataConverter()
	var out []decision
	for _, events := range runs {
		for _, ev := range events {
			a := ev.GetWorkflowExecutionUpdateCompletedEventAttributes()
			if a == nil || a.GetOutcome().GetSuccess() == nil {
				continue
			}
			key, _, _ := strings.Cut(a.GetMeta().GetUpdateId(), "@")
			var d domain.ArbitrationDecision
			if err := dc.FromPayloads(a.GetOutcome().GetSuccess(), &d); err != nil {
				t.Fatalf("arbiter decision %s: %v", a.GetMeta().GetUpdateId(), err)
			}
			out = append(out, decision{Key: key, ArbitrationDecision: d})
		}
	}
	return out
}

// simEffect is an effect on the simulated platform.
type simEffect = sim.Effect

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
