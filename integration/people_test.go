package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	sdkpb "go.temporal.io/api/sdk/v1"

	"resurge/devstack"
	"resurge/domain"
	"resurge/workflows"
)

// TestPeopleInTheLoop runs the human half of the safety rules end to end, on the embedded
// server and the simulated platform, through the real starter binary: a policy sends every
// thread for approval; the posts await it and the webhook receives approval_requested;
// `starter approvals` lists them; `starter approve` makes exactly one thread reach the
// platform, `starter reject` none, and a request nobody answers expires (and is asked again).
// Then, with the arbiter locked, `starter act` makes an operator's comment reach the platform
// once, however often the command is run with the same request ID.
func TestPeopleInTheLoop(t *testing.T) {
	hook := newWebhook(t)
	s := startStack(t, devstack.Options{UIPort: -1})
	s.Wiring.Alerts.WebhookURL = hook.srv.URL
	ctx := testContext(t, 4*time.Minute)
	starter := buildStarter(t, s)

	policy := domain.DefaultSafetyPolicy()
	policy.ApprovalActions = []domain.ActionType{domain.ActionThread}
	if err := s.Wiring.Safety.SetPolicy(ctx, policy); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the policy applied", func() (bool, string) {
		st, err := s.Wiring.Safety.ArbiterState(ctx)
		return err == nil && st.Policy.NeedsApproval(domain.ActionThread), fmt.Sprint(err)
	})

	approve, reject, expire := testPost("die-approve", "agent-people"), testPost("die-reject", "agent-people"), testPost("die-expire", "agent-people")
	expire.Config.ApprovalTimeout = 3 * time.Second
	startPosts(t, s, approve, reject, expire)
	ids := []string{approve.Post.ID, reject.Post.ID, expire.Post.ID}
	t.Cleanup(func() {
		if t.Failed() {
			for _, id := range ids {
				dumpWorkflow(t, s, workflows.PostWorkflowID(id))
			}
		}
	})
	eventually(t, time.Minute, "the approval requests at the webhook", func() (bool, string) {
		got := approvalAlerts(hook)
		return got[approve.Post.ID] >= 1 && got[reject.Post.ID] >= 1, fmt.Sprint(got)
	})
	for _, a := range hook.received() {
		if a.Type == domain.AlertApprovalRequested && (a.Approval == nil || a.Approval.Action != domain.ActionThread ||
			len(a.Approval.Texts) != 2 || !strings.Contains(a.Approval.ApproveCommand, "starter approve "+a.Approval.PostID)) {
			t.Fatalf("approval_requested without the post, texts and commands: %+v", a)
		}
	}

	// The starter lists what awaits approval (visibility catches up in a moment).
	var listed struct {
		Count     int `json:"count"`
		Approvals []struct {
			PostID  string                  `json:"post_id"`
			Pending *domain.PendingApproval `json:"pending_approval"`
		} `json:"approvals"`
	}
	eventually(t, 30*time.Second, "starter approvals listing both posts", func() (bool, string) {
		out, _, code := starter(ctx, "approvals", "--agent", "agent-people", "--json")
		if code != 0 || json.Unmarshal([]byte(out), &listed) != nil {
			return false, out
		}
		found := map[string]bool{}
		for _, a := range listed.Approvals {
			found[a.PostID] = a.Pending != nil && a.Pending.Key == domain.IdempotencyKey(a.PostID, domain.ActionThread, domain.Tier3)
		}
		return found[approve.Post.ID] && found[reject.Post.ID], out
	})

	// The Web UI's current details of a post show what awaits approval and the commands.
	md, err := s.Client.QueryWorkflow(ctx, workflows.PostWorkflowID(reject.Post.ID), "", workflows.QueryWorkflowMetadata)
	var meta sdkpb.WorkflowMetadata
	if err != nil || md.Get(&meta) != nil {
		t.Fatalf("metadata query: %v", err)
	}
	if d := meta.GetCurrentDetails(); !strings.Contains(d, "awaiting approval") || !strings.Contains(d, "starter approve die-reject --key") ||
		!strings.Contains(d, "state **awaiting_approval**") {
		t.Fatalf("the current details do not show what awaits approval: %q", d)
	}

	_, out, code := starter(ctx, "approve", approve.Post.ID, "--operator", "ops", "--reason", "read the thread, it is fine")
	if code != 0 || !strings.Contains(out, "approved: thread on post die-approve by ops") {
		t.Fatalf("starter approve: exit %d\n%s", code, out)
	}
	out, _, code = starter(ctx, "reject", reject.Post.ID, "--operator", "ops", "--reason", "off-brand", "--json")
	var rejected struct {
		OK     bool                 `json:"ok"`
		Record *domain.ActionRecord `json:"record"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &rejected) != nil || !rejected.OK || rejected.Record == nil || rejected.Record.Status != domain.StatusRejected {
		t.Fatalf("starter reject: exit %d\n%s", code, out)
	}
	// Approving again finds nothing pending: exit 1, nothing sent.
	if _, out, code := starter(ctx, "approve", approve.Post.ID, "--operator", "ops", "--reason", "again"); code != 1 || !strings.Contains(out, "nothing awaits approval") {
		t.Fatalf("a second approve: exit %d\n%s", code, out)
	}

	// Nobody answers die-expire: its request expires after 3 s and the post asks again.
	eventually(t, time.Minute, "die-expire asking again after the expiry", func() (bool, string) {
		got := approvalAlerts(hook)
		return got[expire.Post.ID] >= 2, fmt.Sprint(got)
	})
	if err := workflows.StopPost(ctx, s.Client, expire.Post.ID, workflows.StopRequest{Reason: "test over"}); err != nil {
		t.Fatal(err)
	}
	var sum workflows.PostSummary
	if err := s.Client.GetWorkflow(ctx, workflows.PostWorkflowID(expire.Post.ID), "").Get(ctx, &sum); err != nil {
		t.Fatal(err)
	}
	if len(sum.Actions) != 1 || sum.Actions[0].Status != domain.StatusExpired {
		t.Fatalf("a stopped post's pending request expires: %+v", sum.Actions)
	}

	// A few cycles later: one thread for die-approve, nothing for the others.
	time.Sleep(3 * time.Second)
	effects := effectsByPost(s)
	if n := effects[approve.Post.ID][domain.IdempotencyKey(approve.Post.ID, domain.ActionThread, domain.Tier3)]; n != 1 || len(effects[approve.Post.ID]) != 1 {
		t.Fatalf("want exactly one thread for die-approve, got %v", effects[approve.Post.ID])
	}
	if len(effects[reject.Post.ID])+len(effects[expire.Post.ID]) != 0 {
		t.Fatalf("nothing may reach the platform for the rejected or expired posts: %v", effects)
	}
	st, err := postStatus(t, s, approve.Post.ID)
	if r := st.Log[0]; err != nil || r.Status != domain.StatusSuccess || r.Operator != "ops" || r.IsAutonomous() {
		t.Fatalf("die-approve's record: %+v (%v)", st.Log, err)
	}

	// Operator actions through a lock.
	if _, out, code := starter(ctx, "lock", "--reason", "reviewing the account", "--source", "ops"); code != 0 {
		t.Fatalf("starter lock: exit %d\n%s", code, out)
	}
	op := testPost("grow-operator", "agent-operator")
	startPosts(t, s, op)
	ids = append(ids, op.Post.ID)
	eventually(t, time.Minute, "the post blocked by the lock", func() (bool, string) {
		st, err := postStatus(t, s, op.Post.ID)
		return err == nil && recordStatus(st, domain.ActionComment) == domain.StatusBlocked, fmt.Sprint(st.State, err)
	})
	args := []string{"act", op.Post.ID, "--action", "comment", "--text", "Thanks for all the questions, answers below!",
		"--operator", "ops", "--reason", "answering the thread by hand", "--request-id", "it-1"}
	for i := range 2 {
		_, out, code := starter(ctx, args...)
		want := map[int]string{0: "done: comment on post grow-operator by ops", 1: "already done"}[i]
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("starter act (run %d): exit %d\n%s", i+1, code, out)
		}
	}
	opKey := domain.OperatorKey(op.Post.ID, domain.ActionComment, "it-1")
	if got := effectsByPost(s)[op.Post.ID]; len(got) != 1 || got[opKey] != 1 {
		t.Fatalf("the operator's comment must reach the platform once, with its own key: %v", got)
	}
	arb, err := s.Wiring.Safety.ArbiterState(ctx)
	if err != nil || !arb.Lock.Active || arb.Counters.OperatorAllowed != 2 || arb.Counters.ApprovalRequests < 3 {
		t.Fatalf("the arbiter stays locked and counts people's actions apart: %+v (%v)", arb.Counters, err)
	}
	eventually(t, 30*time.Second, "the monitor counting the operator's outcome apart", func() (bool, string) {
		m, err := s.Wiring.Safety.MonitorStatus(ctx, "agent-operator")
		return err == nil && m.PeopleOutcomes == 1 && m.OutcomeSeq == 0, fmt.Sprintf("%+v %v", m.MonitorCarry, err)
	})

	checkReplay(t, s.Client, workflows.PostWorkflowID(approve.Post.ID), "post_approved")
	checkReplay(t, s.Client, workflows.PostWorkflowID(reject.Post.ID), "post_rejected")
	checkReplay(t, s.Client, workflows.PostWorkflowID(expire.Post.ID), "post_approval_expired")
	checkReplay(t, s.Client, workflows.PostWorkflowID(op.Post.ID), "post_operator_locked")
	checkReplay(t, s.Client, workflows.MonitorWorkflowID("agent-operator"), "monitor_people")
	checkReplay(t, s.Client, workflows.ArbiterWorkflowID, "arbiter_people")
}

// approvalAlerts counts the approval_requested alerts the webhook received, by post.
func approvalAlerts(hook *webhook) map[string]int {
	got := map[string]int{}
	for _, a := range hook.received() {
		if a.Type == domain.AlertApprovalRequested && a.Approval != nil {
			got[a.Approval.PostID]++
		}
	}
	return got
}

// effectsByPost counts the platform's effects by post and key.
func effectsByPost(s *devstack.Stack) map[string]map[string]int {
	out := map[string]map[string]int{}
	for _, e := range s.Sim.Effects() {
		if out[e.PostID] == nil {
			out[e.PostID] = map[string]int{}
		}
		out[e.PostID][e.Key]++
	}
	return out
}

// buildStarter builds the starter binary and returns a function that runs it against the
// stack's server and returns its stdout (with --json, the JSON document alone), then stdout and
// stderr together, and its exit code.
func buildStarter(t *testing.T, s *devstack.Stack) func(ctx context.Context, args ...string) (string, string, int) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "starter")
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	build := exec.Command(goTool, "build", "-o", bin, "resurge/starter")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the starter: %v\n%s", err, out)
	}
	return func(ctx context.Context, args ...string) (string, string, int) {
		args = append(args, "--address", s.Server.HostPort(), "--namespace", s.Server.Namespace())
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if exit := (*exec.ExitError)(nil); errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatalf("run starter %v: %v", args, err)
		}
		t.Logf("starter %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
		return stdout.String(), stdout.String() + stderr.String(), code
	}
}

// TestApprovalSurvivesRestart: a post awaiting approval when the whole stack (server and
// worker) stops still awaits it after a restart on the same data directory, and the approval
// sent then acts once.
func TestApprovalSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := startStack(t, devstack.Options{DataDir: dir, UIPort: -1})
	ctx := testContext(t, 3*time.Minute)
	policy := domain.DefaultSafetyPolicy()
	policy.ApprovalActions = []domain.ActionType{domain.ActionThread}
	if err := s.Wiring.Safety.SetPolicy(ctx, policy); err != nil {
		t.Fatal(err)
	}
	p := testPost("die-restart-approval", "agent-restart")
	startPosts(t, s, p)
	key := domain.IdempotencyKey(p.Post.ID, domain.ActionThread, domain.Tier3)
	eventually(t, time.Minute, "the thread awaiting approval", func() (bool, string) {
		st, err := postStatus(t, s, p.Post.ID)
		return err == nil && st.PendingApproval != nil && st.PendingApproval.Key == key, fmt.Sprint(st.State, err)
	})
	if err := s.Stop(); err != nil {
		t.Logf("stop: %v", err)
	}

	s2 := startStack(t, devstack.Options{DataDir: dir, UIPort: -1})
	// The first query after a restart can take longer than one status call allows: the
	// workflow's sticky queue was the stopped worker's, so the server waits out the sticky
	// schedule-to-start timeout before the new worker gets it, and the new worker replays the
	// history first. Ask until it answers; the answer itself must still be the pending approval.
	var st workflows.PostStatus
	eventually(t, time.Minute, "the post answering its status query after the restart", func() (bool, string) {
		var err error
		st, err = postStatus(t, s2, p.Post.ID)
		return err == nil, fmt.Sprint(err)
	})
	if st.PendingApproval == nil || st.State != workflows.StateAwaitingApproval {
		t.Fatalf("after the restart the approval must still wait: %s %+v", st.State, st.PendingApproval)
	}
	// A context of its own: the first half (a stack started, stopped and started again) may
	// have used most of ctx on a loaded machine.
	if err := workflows.ApprovePost(testContext(t, time.Minute), s2.Client, p.Post.ID, domain.ApprovalAnswer{Operator: "ops", Reason: "after the restart", Key: key}); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "the approved thread", func() (bool, string) {
		st, err := postStatus(t, s2, p.Post.ID)
		return err == nil && recordStatus(st, domain.ActionThread) == domain.StatusSuccess, fmt.Sprint(st.Log, err)
	})
	if n := effectsByPost(s2)[p.Post.ID][key]; n != 1 {
		t.Fatalf("want one thread after the restart, got %d", n)
	}
}
