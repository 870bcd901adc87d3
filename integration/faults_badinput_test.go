package integration

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"resurge/devstack"
	"resurge/domain"
	"resurge/internal/faultcheck"
	"resurge/platform"
	"resurge/platform/simclient"
	"resurge/workflows"
)

// badSamples wraps the platform adapter: for posts whose ID starts with "badsample-", the
// first samples after the first one are broken in turn, the way a buggy or hostile platform
// could send them, and one reply is not JSON at all (through the real HTTP adapter).
type badSamples struct {
	platform.Platform
	garbage *simclient.Client // a server answering HTML to everything

	mu    sync.Mutex
	calls map[string]int
	first map[string]domain.MetricsSample
}

// badSampleKinds are what the workflow must reject, in the order they are sent.
var badSampleKinds = []struct{ what, field string }{
	{"in the future", "sample.at"},
	{"counters going down", "sample.impressions"},
	{"no time", "sample.at"},
	{"negative counter", "sample.engagements"},
	{"time going back", "sample.at"},
	{"reply that is not JSON", "invalid_response"},
}

func (b *badSamples) Metrics(ctx context.Context, postID string) (domain.MetricsSample, error) {
	s, err := b.Platform.Metrics(ctx, postID)
	if err != nil || !strings.HasPrefix(postID, "badsample-") {
		return s, err
	}
	b.mu.Lock()
	n := b.calls[postID]
	b.calls[postID]++
	if n == 0 {
		b.first[postID] = s
	}
	first := b.first[postID]
	b.mu.Unlock()
	switch n {
	case 1:
		s.At = s.At.Add(time.Hour)
	case 2:
		s.Impressions = first.Impressions - 1
	case 3:
		s.At = time.Time{}
	case 4:
		s.Engagements = -5
	case 5:
		s.At = first.At.Add(-time.Minute)
	case 6:
		return b.garbage.Metrics(ctx, postID)
	}
	return s, nil
}

// TestBadInputToRunningWorkflows sends malformed signals and updates to the real arbiter,
// monitor and post workflows, and feeds a post broken samples and unreadable replies. Each is
// refused with an error naming what is wrong, recorded by the workflow that refused it, and
// changes nothing else: the workflows keep running, what they held is intact, and they still
// work afterwards.
func TestBadInputToRunningWorkflows(t *testing.T) {
	t.Parallel() // light: mostly waits on timers (see faults_harness_test.go)
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html>maintenance</html>"))
	}))
	t.Cleanup(html.Close)
	wrap := &badSamples{garbage: simclient.New(html.URL, "x"), calls: map[string]int{}, first: map[string]domain.MetricsSample{}}
	fs := startFaultStack(t, devstack.Options{WrapPlatform: func(p platform.Platform) platform.Platform {
		wrap.Platform = p
		return wrap
	}})
	ctx := testContext(t, 3*time.Minute)

	// A post that acts, so the arbiter has decided and the monitor of agent-bad exists.
	good := testPost("grow-badinput", "agent-bad")
	startPosts(t, fs.Stack, good)
	before := waitPosts(t, fs, time.Minute, "the post acting", []string{good.Post.ID},
		func(st workflows.PostStatus) bool { return faultcheck.HasStatus(st, domain.StatusSuccess) })[good.Post.ID]
	eventually(t, 30*time.Second, "the monitor counting the outcome", func() (bool, string) {
		st, err := fs.safety.MonitorStatus(ctx, "agent-bad")
		return err == nil && st.OutcomeSeq == 1, fmtErr(err)
	})
	arbBefore, err := fs.safety.ArbiterState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	monBefore, _ := fs.safety.MonitorStatus(ctx, "agent-bad")

	signal := func(id, name string, arg any) {
		t.Helper()
		if err := fs.Client.SignalWorkflow(ctx, id, "", name, arg); err != nil {
			t.Fatalf("signal %s %s: %v", id, name, err)
		}
	}
	now := time.Now().UTC()
	outcome := func(edit func(*domain.Outcome)) domain.Outcome {
		o := domain.Outcome{Agent: "agent-bad", PostID: "p1", Key: domain.IdempotencyKey("p1", domain.ActionComment, domain.Tier1),
			Action: domain.ActionComment, Tier: domain.Tier1, Status: domain.StatusSuccess, Attempts: 1,
			InitiatedAt: now, FinishedAt: now.Add(time.Second)}
		edit(&o)
		return o
	}
	notJSON := []byte{0xff, 0x00, 0xfe} // sent as binary/plain, not JSON

	// Signals: each is refused and recorded by the workflow it was sent to.
	signals := []struct {
		name       string
		workflowID string
		signal     string
		arg        any
		want       string // in the recorded rejection
	}{
		{"release without operator", workflows.ArbiterWorkflowID, workflows.SignalReleaseLock, map[string]string{"reason": "x"}, "release.operator"},
		{"release without reason", workflows.ArbiterWorkflowID, workflows.SignalReleaseLock, map[string]string{"operator": "ops"}, "release.reason"},
		{"release not an object", workflows.ArbiterWorkflowID, workflows.SignalReleaseLock, 42, "release-lock"},
		{"release not JSON", workflows.ArbiterWorkflowID, workflows.SignalReleaseLock, notJSON, "release-lock"},
		{"health tier 7", workflows.ArbiterWorkflowID, workflows.SignalAgentHealth, domain.AgentHealth{Agent: "agent-bad", Tier: 7}, "health.tier"},
		{"health confidence 2", workflows.ArbiterWorkflowID, workflows.SignalAgentHealth, domain.AgentHealth{Agent: "agent-bad", Tier: 2, Confidence: 2}, "health.confidence"},
		{"health without agent", workflows.ArbiterWorkflowID, workflows.SignalAgentHealth, domain.AgentHealth{Tier: 3, Confidence: 1}, "health.agent"},
		{"health agent with a control character", workflows.ArbiterWorkflowID, workflows.SignalAgentHealth, domain.AgentHealth{Agent: "a\x07b", Tier: 3, Confidence: 1}, "health.agent"},
		{"outcome of another agent", workflows.MonitorWorkflowID("agent-bad"), workflows.SignalOutcome, outcome(func(o *domain.Outcome) { o.Agent = "agent-other" }), "outcome.agent"},
		{"outcome status blocked", workflows.MonitorWorkflowID("agent-bad"), workflows.SignalOutcome, outcome(func(o *domain.Outcome) { o.Status = domain.StatusBlocked }), "outcome.status"},
		{"outcome finished before it began", workflows.MonitorWorkflowID("agent-bad"), workflows.SignalOutcome, outcome(func(o *domain.Outcome) { o.FinishedAt = o.InitiatedAt.Add(-time.Hour) }), "outcome.finished_at"},
		{"outcome rate 7", workflows.MonitorWorkflowID("agent-bad"), workflows.SignalOutcome, outcome(func(o *domain.Outcome) { o.RateBefore = 7 }), "outcome.rate_before"},
		{"outcome not an object", workflows.MonitorWorkflowID("agent-bad"), workflows.SignalOutcome, "all good", "outcome signal"},
		{"impact rate -1", workflows.MonitorWorkflowID("agent-bad"), workflows.SignalImpact, domain.Impact{Agent: "agent-bad", PostID: "p1", Key: "k", RateAfter: -1}, "impact.rate_after"},
		{"impact without key", workflows.MonitorWorkflowID("agent-bad"), workflows.SignalImpact, domain.Impact{Agent: "agent-bad", PostID: "p1"}, "impact.idempotency_key"},
	}
	for _, c := range signals {
		signal(c.workflowID, c.signal, c.arg)
	}
	// A malformed lock still locks (fail closed) and is recorded.
	signal(workflows.ArbiterWorkflowID, workflows.SignalLock, "lock it all")

	// Updates: the arbiter's validator refuses each one with the field at fault; a refused
	// update is not even written to the history.
	valid := domain.ArbitrationRequest{PostID: "p1", Agent: "agent-bad", Platform: domain.PlatformSim, Action: domain.ActionComment,
		Tier: domain.Tier1, Key: domain.IdempotencyKey("p1", domain.ActionComment, domain.Tier1), Texts: []string{"hi"}, At: now}
	updates := []struct {
		name string
		arg  any
		want string
	}{
		{"unknown action", with(valid, func(r *domain.ArbitrationRequest) { r.Action = "delete_account" }), "request.action"},
		{"unknown tier", with(valid, func(r *domain.ArbitrationRequest) { r.Tier = "tier_9" }), "request.tier"},
		{"not a sheal_ key", with(valid, func(r *domain.ArbitrationRequest) { r.Key = "nope" }), "request.idempotency_key"},
		{"no texts", with(valid, func(r *domain.ArbitrationRequest) { r.Texts = nil }), "request.texts"},
		{"post ID with a space", with(valid, func(r *domain.ArbitrationRequest) { r.PostID = "p 1" }), "request.post"},
		{"empty agent", with(valid, func(r *domain.ArbitrationRequest) { r.Agent = "" }), "request.agent"},
		{"unknown platform", with(valid, func(r *domain.ArbitrationRequest) { r.Platform = "myspace" }), "request.platform"},
		{"no time", with(valid, func(r *domain.ArbitrationRequest) { r.At = time.Time{} }), "request.at"},
		{"not a request", "allow me", "arbitrate"},
	}
	for i, u := range updates {
		h, err := fs.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: workflows.ArbiterWorkflowID, UpdateID: "bad-update-" + string(rune('a'+i)), UpdateName: workflows.UpdateArbitrate,
			Args: []any{u.arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			var d domain.ArbitrationDecision
			err = h.Get(ctx, &d)
		}
		if err == nil || !strings.Contains(err.Error(), u.want) {
			t.Errorf("update %q: error %v, want one naming %s", u.name, err, u.want)
		}
	}

	// The arbiter kept running, recorded every refused signal, took the malformed lock, and
	// nothing else changed.
	var arb workflows.ArbiterState
	eventually(t, 30*time.Second, "the arbiter recording the refused signals", func() (bool, string) {
		arb, err = fs.safety.ArbiterState(ctx)
		return err == nil && arb.Counters.RejectedSignals == arbBefore.Counters.RejectedSignals+9, fmtErr(err)
	})
	if arb.Counters.RejectedReleases != arbBefore.Counters.RejectedReleases+4 || arb.Counters.Releases != arbBefore.Counters.Releases {
		t.Errorf("releases: %+v, want 4 more rejected and none accepted", arb.Counters)
	}
	if arb.Counters.Allowed != arbBefore.Counters.Allowed || arb.Counters.Denied != arbBefore.Counters.Denied || arb.Counters.Locked != arbBefore.Counters.Locked {
		t.Errorf("a refused update was arbitrated: %+v before, %+v after", arbBefore.Counters, arb.Counters)
	}
	if len(arb.AgentTiers) != 0 {
		t.Errorf("a refused health report changed the agents' tiers: %+v", arb.AgentTiers)
	}
	if !arb.Lock.Active || arb.Lock.Source != "unknown" || !strings.Contains(arb.Lock.Reason, "malformed lock signal") {
		t.Errorf("a malformed lock must still lock: %+v", arb.Lock)
	}
	checkRejected(t, "arbiter", arb.Rejected, signals[:8], workflows.ArbiterWorkflowID)
	// The monitor too, and its outcomes are intact.
	mon, err := fs.safety.MonitorStatus(ctx, "agent-bad")
	if err != nil || mon.OutcomeSeq != monBefore.OutcomeSeq || len(mon.Outcomes) != len(monBefore.Outcomes) || len(mon.Impacts) != len(monBefore.Impacts) {
		t.Errorf("monitor after the refused signals: %+v %v", mon.MonitorCarry, err)
	}
	checkRejected(t, "monitor", mon.Rejected, signals, workflows.MonitorWorkflowID("agent-bad"))

	// A proper release still works, and so does arbitration.
	if err := fs.safety.Release(ctx, domain.ReleaseRequest{Operator: "ops", Reason: "bad input test"}); err != nil {
		t.Fatal(err)
	}
	d, err := fs.safety.Arbitrate(ctx, with(valid, func(r *domain.ArbitrationRequest) { r.At = time.Now().UTC() }))
	if err != nil || d.Decision != domain.DecisionAllow {
		t.Errorf("arbitration after the bad input: %+v %v", d, err)
	}

	// A post fed broken samples and an unreadable reply: each rejected and recorded, the
	// post keeps sampling and acts once it has enough good samples.
	bad := testPost("badsample-grow", "agent-bad-samples")
	// A post on a platform this worker has no adapter for: a clear error, recorded; it keeps
	// running (the adapter may be configured later) and never acts.
	noAdapter := testPost("grow-no-adapter", "agent-bad-samples")
	noAdapter.Post.Platform = domain.PlatformMastodon
	startPosts(t, fs.Stack, bad, noAdapter)
	st := waitPosts(t, fs, time.Minute, "the post with bad samples acting", []string{bad.Post.ID},
		func(st workflows.PostStatus) bool { return faultcheck.HasStatus(st, domain.StatusSuccess) })[bad.Post.ID]
	if st.RejectedCount != len(badSampleKinds) || len(st.Rejected) != len(badSampleKinds) {
		t.Errorf("%s: %d rejected inputs %+v, want %d", bad.Post.ID, st.RejectedCount, st.Rejected, len(badSampleKinds))
	}
	for i, k := range badSampleKinds {
		if i < len(st.Rejected) && !strings.Contains(st.Rejected[i].Error, k.field) {
			t.Errorf("%s: rejection %d (%s) is %+v, want one naming %s", bad.Post.ID, i, k.what, st.Rejected[i], k.field)
		}
	}
	na, err := postStatus(t, fs.Stack, noAdapter.Post.ID)
	if err != nil || !strings.Contains(na.LastError, `no adapter configured for platform "mastodon"`) || na.State == workflows.StateDone || len(na.Log) != 0 {
		t.Errorf("%s: %+v %v, want it running with the error recorded", noAdapter.Post.ID, na, err)
	}

	// Bad starts are refused before anything exists: an unknown platform, a bad ID.
	for _, in := range []workflows.PostInput{
		with(testPost("grow-myspace", "a"), func(p *workflows.PostInput) { p.Post.Platform = "myspace" }),
		with(testPost("grow bad id", "a"), func(p *workflows.PostInput) {}),
		with(testPost("grow-zero-window", "a"), func(p *workflows.PostInput) { p.Config.Window = 0 }),
	} {
		if _, err := workflows.StartPost(ctx, fs.Client, in); err == nil {
			t.Errorf("start %q: no error", in.Post.ID)
		} else if _, derr := fs.Client.DescribeWorkflowExecution(ctx, workflows.PostWorkflowID(in.Post.ID), ""); derr == nil {
			t.Errorf("start %q was refused (%v) but a workflow exists", in.Post.ID, err)
		}
	}

	// The first post kept running through all of it, its log intact.
	after, err := postStatus(t, fs.Stack, good.Post.ID)
	if err != nil || after.Cycles <= before.Cycles || !slices.EqualFunc(after.Log, before.Log, sameRecord) {
		t.Errorf("%s: before %d cycles %+v, after %d cycles %+v (%v)", good.Post.ID, before.Cycles, before.Log, after.Cycles, after.Log, err)
	}
	// A stop signal whose payload is not a stop request still stops the post (the operator
	// meant to stop it), records the payload as rejected, and keeps the log.
	signal(workflows.PostWorkflowID(good.Post.ID), workflows.SignalStop, []int{4, 2})
	var sum workflows.PostSummary
	if err := fs.Client.GetWorkflow(ctx, workflows.PostWorkflowID(good.Post.ID), "").Get(ctx, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.EndReason != workflows.EndStopped || sum.Rejected != 1 || !slices.EqualFunc(sum.Actions, before.Log, sameRecord) {
		t.Errorf("stopped with a garbage payload: %+v, want stopped, 1 rejected input, the log kept", sum)
	}
	for _, id := range []string{workflows.ArbiterWorkflowID, workflows.MonitorWorkflowID("agent-bad")} {
		desc, err := fs.Client.DescribeWorkflowExecution(ctx, id, "")
		if err != nil || desc.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t.Errorf("%s is not running after the bad input: %v", id, err)
		}
	}
	checkReplay(t, fs.Client, workflows.ArbiterWorkflowID, "arbiter_bad_input")
	checkReplay(t, fs.Client, workflows.MonitorWorkflowID("agent-bad"), "monitor_bad_input")
}

// checkRejected checks that every signal sent to workflowID is among the workflow's recorded
// rejections (it keeps the last 10).
func checkRejected(t *testing.T, who string, rejected []workflows.RejectedInput, sent []struct {
	name       string
	workflowID string
	signal     string
	arg        any
	want       string
}, workflowID string) {
	t.Helper()
	var mine []string
	for _, s := range sent {
		if s.workflowID == workflowID {
			mine = append(mine, s.want)
		}
	}
	if len(mine) > 10 {
		mine = mine[len(mine)-10:]
	}
	for _, want := range mine {
		if !slices.ContainsFunc(rejected, func(r workflows.RejectedInput) bool {
			return strings.Contains(r.What+" "+r.Error, want)
		}) {
			t.Errorf("%s: no recorded rejection naming %s in %+v", who, want, rejected)
		}
	}
}

func with[T any](v T, edit func(*T)) T {
	edit(&v)
	return v
}

func sameRecord(a, b domain.ActionRecord) bool {
	return a.Key == b.Key && a.Status == b.Status && a.Attempts == b.Attempts && a.InitiatedAt.Equal(b.InitiatedAt)
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
