package integration

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"resurge/devstack"
	"resurge/domain"
	"resurge/platform/sim"
	"resurge/workflows"
)

// TestDevStackPostsActListAndStop runs posts on every curve against the simulated platform over
// HTTP and checks what the platform saw, what the status query says, the search attributes and
// the stop signal; and that the Web UI serves its index page.
func TestDevStackPostsActListAndStop(t *testing.T) {
	s := startStack(t, devstack.Options{UIPort: 0})
	posts := []struct {
		in     workflows.PostInput
		action domain.ActionType
	}{
		{testPost("grow-it1", "agent-it"), domain.ActionComment},
		{testPost("stall-it1", "agent-it"), domain.ActionEdit},
		{testPost("die-it1", "agent-it"), domain.ActionThread},
	}
	for _, p := range posts {
		startPosts(t, s, p.in)
	}
	// Starting again is idempotent: the running workflow is reused.
	run1, err := workflows.StartPost(t.Context(), s.Client, posts[0].in)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := s.Client.DescribeWorkflowExecution(t.Context(), workflows.PostWorkflowID("grow-it1"), "")
	if err != nil || desc.WorkflowExecutionInfo.Execution.RunId != run1.GetRunID() {
		t.Fatalf("a second start must return the running workflow: %v", err)
	}
	// The Web UI's static summary tells which post this is without opening payloads.
	var summary string
	if md := desc.GetExecutionConfig().GetUserMetadata(); md == nil ||
		converter.GetDefaultDataConverter().FromPayload(md.GetSummary(), &summary) != nil || summary != "post grow-it1 on sim, agent agent-it" {
		t.Fatalf("static summary %q", summary)
	}

	for _, p := range posts {
		id := p.in.Post.ID
		eventually(t, time.Minute, id+" acting", func() (bool, string) {
			st, err := postStatus(t, s, id)
			if err != nil {
				return false, err.Error()
			}
			return recordStatus(st, p.action) == domain.StatusSuccess, fmt.Sprintf("state=%s tier=%s log=%+v", st.State, st.LastTier, st.Log)
		})
	}
	// One effect per idempotency key on the platform, each of the planned type.
	counts := map[string]int{}
	for _, e := range s.Sim.Effects() {
		counts[e.Key]++
	}
	for _, p := range posts {
		tier := map[domain.ActionType]domain.Tier{domain.ActionComment: domain.Tier1, domain.ActionEdit: domain.Tier2, domain.ActionThread: domain.Tier3}[p.action]
		key := domain.IdempotencyKey(p.in.Post.ID, p.action, tier)
		if counts[key] != 1 {
			t.Fatalf("%s: platform has %d effects for %s, want 1 (all: %v)", p.in.Post.ID, counts[key], key, counts)
		}
	}

	// Visibility: list by search attribute.
	eventually(t, 30*time.Second, "the thread post listed by tier and last action", func() (bool, string) {
		resp, err := s.Client.ListWorkflow(t.Context(), &workflowservice.ListWorkflowExecutionsRequest{
			Query: "ResurgeAgent = 'agent-it' AND ResurgeTier = 'tier_3' AND ResurgeLastAction = 'thread:success'",
		})
		if err != nil {
			return false, err.Error()
		}
		if len(resp.Executions) != 1 {
			return false, fmt.Sprintf("%d executions", len(resp.Executions))
		}
		return resp.Executions[0].Execution.WorkflowId == workflows.PostWorkflowID("die-it1"), resp.Executions[0].Execution.WorkflowId
	})

	// Stop a post: it completes with the reason.
	if err := workflows.StopPost(t.Context(), s.Client, "grow-it1", workflows.StopRequest{Reason: "test done"}); err != nil {
		t.Fatal(err)
	}
	var sum workflows.PostSummary
	if err := s.Client.GetWorkflow(t.Context(), workflows.PostWorkflowID("grow-it1"), "").Get(t.Context(), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.EndReason != "stopped: test done" || len(sum.Actions) != 1 {
		t.Fatalf("unexpected summary %+v", sum)
	}
	desc, err = s.Client.DescribeWorkflowExecution(t.Context(), workflows.PostWorkflowID("grow-it1"), "")
	if err != nil || desc.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("stopped post not completed: %v", err)
	}

	// Current details (what the Web UI shows on the workflow's page) tell the score, tier and
	// last action.
	md, err := s.Client.QueryWorkflow(t.Context(), workflows.PostWorkflowID("die-it1"), "", "__temporal_workflow_metadata")
	if err != nil {
		t.Fatal(err)
	}
	var meta sdkpb.WorkflowMetadata
	if err := md.Get(&meta); err != nil {
		t.Fatal(err)
	}
	if d := meta.GetCurrentDetails(); !strings.Contains(d, "tier_3 (thread)") || !strings.Contains(d, "last action: thread:success") {
		t.Fatalf("current details do not tell the story: %q", d)
	}

	checkReplay(t, s.Client, workflows.PostWorkflowID("die-it1"), "post_thread")
	checkReplay(t, s.Client, workflows.PostWorkflowID("grow-it1"), "post_stopped")

	// The Web UI serves its index page.
	resp, err := http.Get(s.Server.UIURL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(body) == 0 {
		t.Fatalf("web UI index: HTTP %d", resp.StatusCode)
	}
}

// TestDevStackRestartResumesPosts stops the whole stack with open posts and starts it again on
// the same data directory: the posts continue, and nothing is acted twice.
func TestDevStackRestartResumesPosts(t *testing.T) {
	dir := t.TempDir()
	s := startStack(t, devstack.Options{DataDir: dir})
	slow := testPost("die-restart", "agent-rs")
	slow.Config.SampleInterval = 2 * time.Second
	slow.Config.Window = 10 * time.Second
	startPosts(t, s, slow, testPost("stall-restart", "agent-rs"))
	var before workflows.PostStatus
	eventually(t, time.Minute, "the first sample", func() (bool, string) {
		st, err := postStatus(t, s, "die-restart")
		before = st
		return err == nil && st.Cycles >= 1, fmt.Sprint(err)
	})
	if err := s.Stop(); err != nil {
		t.Logf("stop: %v", err)
	}

	s2 := startStack(t, devstack.Options{DataDir: dir})
	for _, id := range []string{"die-restart", "stall-restart"} {
		eventually(t, 90*time.Second, id+" acting after the restart", func() (bool, string) {
			st, err := postStatus(t, s2, id)
			if err != nil {
				return false, err.Error()
			}
			for _, r := range st.Log {
				if r.Status == domain.StatusSuccess {
					return true, ""
				}
			}
			return false, fmt.Sprintf("cycles=%d log=%+v rejected=%+v", st.Cycles, st.Log, st.Rejected)
		})
	}
	after, err := postStatus(t, s2, "die-restart")
	if err != nil {
		t.Fatal(err)
	}
	if after.Cycles <= before.Cycles || !after.StartedAt.Equal(before.StartedAt) {
		t.Fatalf("the post must continue where it was: before %d cycles from %s, after %d from %s",
			before.Cycles, before.StartedAt, after.Cycles, after.StartedAt)
	}
	counts := map[string]int{}
	for _, e := range s2.Sim.Effects() {
		counts[e.Key]++
	}
	for k, n := range counts {
		if n != 1 {
			t.Fatalf("key %s has %d effects after the restart", k, n)
		}
	}
}

// TestSafetyNetLocksAndReleases: the platform fails most actions of one agent, its monitor
// reaches tier 3, the systemic alert reaches the webhook, the arbiter locks, posts are blocked,
// an operator releases by signal, and actions resume.
func TestSafetyNetLocksAndReleases(t *testing.T) {
	hook := newWebhook(t)
	var faulty []workflows.PostInput
	var rules []sim.FaultRule
	for i := 0; i < 7; i++ {
		p := testPost(fmt.Sprintf("die-faulty-%d", i), "faulty")
		faulty = append(faulty, p)
		rules = append(rules, sim.FaultRule{Kind: sim.FaultBadRequest, Scope: sim.ScopeActions, PostID: p.Post.ID, Probability: 1})
	}
	s := startStack(t, devstack.Options{SimFaults: sim.Faults{Rules: rules}})
	s.Wiring.Alerts.WebhookURL = hook.srv.URL
	startPosts(t, s, faulty...)

	eventually(t, 90*time.Second, "the systemic alert at the webhook", func() (bool, string) {
		for _, a := range hook.received() {
			if a.Type == domain.AlertSystemicAnomaly {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d alerts", len(hook.received()))
	})
	alert := hook.received()[0]
	if alert.Severity != domain.SeverityCritical || alert.Tier != 3 || alert.Agent != "faulty" || alert.Brief == nil ||
		len(alert.Brief.TriggerMetrics) == 0 || alert.Brief.LockCriteria.ConsecutiveFailures != 3 {
		t.Fatalf("systemic alert incomplete: %+v", alert)
	}
	st, err := s.Wiring.Safety.ArbiterState(t.Context())
	if err != nil || !st.Lock.Active || st.Lock.Source != "monitor/faulty" || len(st.Lock.Brief) == 0 {
		t.Fatalf("arbiter not locked by the monitor: %+v %v", st.Lock, err)
	}

	// While locked, a healthy agent's post is blocked too, and nothing reaches the platform.
	effectsAtLock := len(s.Sim.Effects())
	startPosts(t, s, testPost("grow-after-lock", "healthy"))
	eventually(t, time.Minute, "the healthy post blocked", func() (bool, string) {
		st, err := postStatus(t, s, "grow-after-lock")
		if err != nil {
			return false, err.Error()
		}
		return st.State == workflows.StateBlocked && recordStatus(st, domain.ActionComment) == domain.StatusBlocked &&
			st.LastPermission != nil && st.LastPermission.Decision == domain.DecisionLock, st.State
	})
	resp, err := s.Client.ListWorkflow(t.Context(), &workflowservice.ListWorkflowExecutionsRequest{Query: "ResurgeState = 'blocked'"})
	if err != nil || len(resp.Executions) == 0 {
		t.Fatalf("blocked posts must be listed by ResurgeState: %v", err)
	}
	if n := len(s.Sim.Effects()); n != effectsAtLock {
		t.Fatalf("%d effects reached the platform while locked", n-effectsAtLock)
	}

	// The operator fixes the platform. A malformed release keeps the lock; a proper one
	// releases it and actions resume.
	if err := s.Sim.SetFaults(sim.Faults{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Client.SignalWorkflow(t.Context(), workflows.ArbiterWorkflowID, "", workflows.SignalReleaseLock, map[string]string{"operator": "ops"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Wiring.Safety.Release(t.Context(), domain.ReleaseRequest{Operator: "ops", Reason: "platform fixed"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			dumpWorkflow(t, s, workflows.PostWorkflowID("grow-after-lock"))
			dumpWorkflow(t, s, workflows.ArbiterWorkflowID)
		}
	})
	eventually(t, time.Minute, "the healthy post acting after the release", func() (bool, string) {
		st, err := postStatus(t, s, "grow-after-lock")
		if err != nil {
			return false, err.Error()
		}
		return recordStatus(st, domain.ActionComment) == domain.StatusSuccess, fmt.Sprintf("state=%s next=%s plan=%+v log=%+v", st.State, st.NextSampleAt, st.LastPlan, st.Log)
	})
	final, err := s.Wiring.Safety.ArbiterState(t.Context())
	if err != nil || final.Counters.RejectedReleases != 1 || final.Counters.Releases != 1 {
		t.Fatalf("want one rejected and one accepted release, got %+v (%v)", final.Counters, err)
	}
	checkReplay(t, s.Client, workflows.ArbiterWorkflowID, "arbiter_lock_release")
	checkReplay(t, s.Client, workflows.MonitorWorkflowID("faulty"), "monitor_lock")
	checkReplay(t, s.Client, workflows.PostWorkflowID("grow-after-lock"), "post_blocked")
}
