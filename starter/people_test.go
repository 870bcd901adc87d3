package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"

	"resurge/domain"
	"resurge/workflows"
)

const postStatusKey = "post/p1 status"

var pThreadKey = domain.IdempotencyKey("p1", domain.ActionThread, domain.Tier3)

func peoplePost() domain.Post {
	return domain.Post{ID: "p1", Platform: domain.PlatformSim, Agent: "a1", CommentText: "c", EditText: "e", ThreadTexts: []string{"1/2", "2/2"}}
}

// awaitingStatus is p1 with its thread awaiting approval.
func awaitingStatus() workflows.PostStatus {
	since := safetyNow.Add(-10 * time.Minute)
	return workflows.PostStatus{
		Post: peoplePost(), State: workflows.StateAwaitingApproval,
		Log: []domain.ActionRecord{{Key: pThreadKey, PostID: "p1", Action: domain.ActionThread, Tier: domain.Tier3,
			InitiatedAt: since, Status: domain.StatusAwaitingApproval, Reasons: []string{"approval required: the policy's approval_actions list thread"}}},
		PendingApproval: &domain.PendingApproval{PostID: "p1", Agent: "a1", Platform: domain.PlatformSim, Action: domain.ActionThread,
			Tier: domain.Tier3, Key: pThreadKey, Texts: []string{"1/2", "2/2"}, Score: 0.9,
			Reasons: []string{"approval required: the policy's approval_actions list thread"}, Since: since, Until: since.Add(6 * time.Hour),
			ApproveCommand: workflows.ApproveCommand("p1", pThreadKey), RejectCommand: workflows.RejectCommand("p1", pThreadKey)},
	}
}

// answeredStatus is p1 after the answer: the record with status st by operator.
func answeredStatus(st domain.ActionStatus, operator string, reasons ...string) workflows.PostStatus {
	s := awaitingStatus()
	s.State, s.PendingApproval = workflows.StateWatching, nil
	r := &s.Log[0]
	r.Status, r.Operator, r.Reason, r.Autonomous, r.InitiatedAt = st, operator, "checked", domain.NotAutonomous(), safetyNow
	r.Reasons = reasons
	if st == domain.StatusSuccess {
		r.Attempts, r.Outcome = 1, json.RawMessage(`{"effect_id":"thread-1"}`)
	}
	return s
}

func newPostFake(states ...workflows.PostStatus) *fakeClient {
	fc := newFakeClient()
	fc.running["post/p1"] = "run-p1"
	for _, s := range states {
		fc.answers[postStatusKey] = append(fc.answers[postStatusKey], s)
	}
	return fc
}

func TestApprove(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		fc := newPostFake(awaitingStatus(), awaitingStatus(), answeredStatus(domain.StatusSuccess, "alice"))
		te := newSafetyEnv(t, fc)
		args := []string{"approve", "p1", "--operator", "alice", "--reason", "checked"}
		if asJSON {
			args = append(args, "--json")
		}
		if code := te.run(args...); code != exitOK {
			t.Fatalf("json %v: exit %d: %s", asJSON, code, te.stderr)
		}
		if len(fc.sent) != 1 || fc.sent[0].Name != workflows.SignalApprove || fc.sent[0].WorkflowID != "post/p1" {
			t.Fatalf("sent %+v, want one approve signal to post/p1", fc.sent)
		}
		var a domain.ApprovalAnswer
		if err := json.Unmarshal(fc.sent[0].Arg, &a); err != nil || a != (domain.ApprovalAnswer{Operator: "alice", Reason: "checked", Key: pThreadKey}) {
			t.Fatalf("the answer must carry the pending key: %s (%v)", fc.sent[0].Arg, err)
		}
		if asJSON {
			var res answerResult
			te.oneJSON(t, &res)
			if !res.OK || res.Record == nil || res.Record.Status != domain.StatusSuccess || res.Pending == nil || res.Pending.Key != pThreadKey {
				t.Fatalf("json %+v", res)
			}
			continue
		}
		if out := te.stdout.String(); !strings.Contains(out, "approved: thread on post p1 by alice") || !strings.Contains(out, "success after 1 attempt") {
			t.Fatalf("stdout %q", out)
		}
	}
}

func TestApproveFailures(t *testing.T) {
	refused := awaitingStatus()
	refused.RejectedCount = 1
	refused.Rejected = []workflows.RejectedInput{{At: safetyNow, What: "approve signal", Error: "approve.idempotency_key: not the key awaiting approval"}}
	for _, tc := range []struct {
		name   string
		states []workflows.PostStatus
		args   []string
		sent   bool
		errSub string
	}{
		{"nothing pending", []workflows.PostStatus{answeredStatus(domain.StatusSuccess, "bob")}, nil, false, "nothing awaits approval on post p1"},
		{"another key", []workflows.PostStatus{awaitingStatus()}, []string{"--key", domain.IdempotencyKey("p1", domain.ActionComment, domain.Tier1)}, false,
			"is not the key awaiting approval"},
		{"the post refuses it", []workflows.PostStatus{awaitingStatus(), refused}, nil, true, "post p1 refused the answer"},
		{"the arbiter refuses the action", []workflows.PostStatus{awaitingStatus(), answeredStatus(domain.StatusBlocked, "alice", `text 2 contains the banned term "2/2"`)}, nil, true,
			`the arbiter refused the action: by alice: checked · text 2 contains the banned term "2/2"`},
		{"the action fails", []workflows.PostStatus{awaitingStatus(), answeredStatus(domain.StatusFailed, "alice", "rejected")}, nil, true, "approved, but the action failed"},
		{"nothing happens in time", []workflows.PostStatus{awaitingStatus()}, nil, true, "did not show its effect within"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc := newPostFake(tc.states...)
			te := newSafetyEnv(t, fc)
			args := append([]string{"approve", "p1", "--operator", "alice", "--reason", "checked", "--wait", "100ms"}, tc.args...)
			if code := te.run(args...); code != exitFailed {
				t.Fatalf("exit %d, want 1: %s", code, te.stderr)
			}
			if line := te.errLine(t); !strings.Contains(line, tc.errSub) {
				t.Fatalf("error %q lacks %q", line, tc.errSub)
			}
			if got := len(fc.sent) > 0; got != tc.sent {
				t.Fatalf("sent %+v, want sent=%v", fc.sent, tc.sent)
			}
		})
	}
}

func TestReject(t *testing.T) {
	fc := newPostFake(awaitingStatus(), answeredStatus(domain.StatusRejected, "bob"))
	te := newSafetyEnv(t, fc)
	if code := te.run("reject", "p1", "--operator", "bob", "--reason", "checked", "--key", pThreadKey); code != exitOK {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	if len(fc.sent) != 1 || fc.sent[0].Name != workflows.SignalReject {
		t.Fatalf("sent %+v", fc.sent)
	}
	if out := te.stdout.String(); !strings.Contains(out, "rejected: thread on post p1 by bob") {
		t.Fatalf("stdout %q", out)
	}
}

func TestPeopleCommandsUsage(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		errSub string
	}{
		{[]string{"approve", "p1"}, "--operator and --reason are required"},
		{[]string{"approve", "--operator", "a", "--reason", "r"}, "missing argument"},
		{[]string{"reject", "p1", "--operator", "a"}, "--reason is required"},
		{[]string{"approve", "p 1", "--operator", "a", "--reason", "r"}, "post: has a space"},
		{[]string{"approve", "p1", "--operator", "a", "--reason", "r", "--key", "nope"}, "approve.idempotency_key"},
		{[]string{"act", "p1", "--operator", "a", "--reason", "r"}, "--action is required"},
		{[]string{"act", "p1", "--action", "like", "--operator", "a", "--reason", "r"}, `unknown action "like"`},
		{[]string{"act", "p1", "--action", "thread", "--text", "x", "--operator", "a", "--reason", "r"}, "a thread takes --thread"},
		{[]string{"act", "p1", "--action", "comment", "--thread", "x", "--operator", "a", "--reason", "r"}, "a comment takes --text"},
		{[]string{"act", "p1", "--action", "comment", "--reason", "r"}, "--operator is required"},
		{[]string{"approvals", "--limit", "0"}, "--limit must be at least 1"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			te := newSafetyEnv(t, nil)
			if code := te.run(tc.args...); code != exitUsage {
				t.Fatalf("exit %d, want 2: %s", code, te.stderr)
			}
			if line := te.errLine(t); !strings.Contains(line, tc.errSub) {
				t.Fatalf("error %q lacks %q", line, tc.errSub)
			}
		})
	}
}

func actedStatus(requestID string, st domain.ActionStatus) workflows.PostStatus {
	s := workflows.PostStatus{Post: peoplePost(), State: workflows.StateWatching}
	s.Log = []domain.ActionRecord{{Key: domain.OperatorKey("p1", domain.ActionComment, requestID), PostID: "p1", Action: domain.ActionComment,
		Tier: domain.Tier1, InitiatedAt: safetyNow, Status: st, Attempts: 1, Autonomous: domain.NotAutonomous(), Operator: "alice",
		Reason: "answering", RequestID: requestID, Outcome: json.RawMessage(`{"effect_id":"comment-1"}`)}}
	return s
}

func TestAct(t *testing.T) {
	fc := newPostFake(workflows.PostStatus{Post: peoplePost(), State: workflows.StateBlocked}, actedStatus("r-7", domain.StatusSuccess))
	te := newSafetyEnv(t, fc)
	if code := te.run("act", "p1", "--action", "comment", "--text", "Thanks!", "--operator", "alice", "--reason", "answering", "--request-id", "r-7"); code != exitOK {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	if len(fc.sent) != 1 || fc.sent[0].Name != workflows.SignalAct {
		t.Fatalf("sent %+v", fc.sent)
	}
	var req domain.OperatorRequest
	if err := json.Unmarshal(fc.sent[0].Arg, &req); err != nil || req.Operator != "alice" || req.Reason != "answering" ||
		req.Action != domain.ActionComment || req.RequestID != "r-7" || len(req.Texts) != 1 || req.Texts[0] != "Thanks!" {
		t.Fatalf("act payload %s (%v)", fc.sent[0].Arg, err)
	}
	out := te.stdout.String()
	key := domain.OperatorKey("p1", domain.ActionComment, "r-7")
	if !strings.Contains(out, "request r-7 (key "+key+")") || !strings.Contains(out, "--request-id r-7") ||
		!strings.Contains(out, "done: comment on post p1 by alice") {
		t.Fatalf("stdout %q", out)
	}
}

func TestActMakesUpARequestIDAndActsOnceWhenRepeated(t *testing.T) {
	fc := newPostFake(workflows.PostStatus{Post: peoplePost()})
	te := newSafetyEnv(t, fc)
	te.run("act", "p1", "--action", "comment", "--operator", "alice", "--reason", "answering", "--wait", "50ms", "--json")
	var res actResult
	te.oneJSON(t, &res)
	if !strings.HasPrefix(res.Request.RequestID, "r-") || len(res.Request.RequestID) != 14 || res.Key != domain.OperatorKey("p1", domain.ActionComment, res.Request.RequestID) ||
		len(res.Request.Texts) != 0 || !res.Sent {
		t.Fatalf("a made-up request ID and its key: %+v", res)
	}

	// The same request again, once it succeeded: nothing is sent.
	fc = newPostFake(actedStatus("r-7", domain.StatusSuccess))
	te = newSafetyEnv(t, fc)
	if code := te.run("act", "p1", "--action", "comment", "--operator", "alice", "--reason", "answering", "--request-id", "r-7"); code != exitOK {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	if len(fc.sent) != 0 || !strings.Contains(te.stdout.String(), "already done: comment on post p1 by alice") {
		t.Fatalf("sent %+v, stdout %q", fc.sent, te.stdout)
	}
}

func TestActFailures(t *testing.T) {
	refused := workflows.PostStatus{Post: peoplePost(), RejectedCount: 1,
		Rejected: []workflows.RejectedInput{{At: safetyNow, What: "act signal", Error: "act.texts[0]: must not be empty"}}}
	blocked := actedStatus("r-1", domain.StatusBlocked)
	blocked.Log[0].Reasons = []string{`text 1 contains the banned term "free money"`}
	for _, tc := range []struct {
		name   string
		args   []string
		states []workflows.PostStatus
		code   int
		sent   bool
		errSub string
	}{
		{"an action the platform does not have", []string{"--action", "quote"}, []workflows.PostStatus{{Post: peoplePost()}}, exitUsage, false, "act.action: sim has no quote"},
		{"the post refuses it", []string{"--action", "comment"}, []workflows.PostStatus{{Post: peoplePost()}, refused}, exitFailed, true, "post p1 refused the request"},
		{"the arbiter refuses it", []string{"--action", "comment"}, []workflows.PostStatus{{Post: peoplePost()}, blocked}, exitFailed, true, "the arbiter refused the action"},
		{"the post is gone", []string{"--action", "comment"}, nil, exitFailed, false, "no workflow post/p2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc := newPostFake(tc.states...)
			post := "p1"
			if tc.states == nil {
				post = "p2"
				fc.queryErrs["post/p2"] = serviceerror.NewNotFound("workflow not found for ID: post/p2")
			}
			te := newSafetyEnv(t, fc)
			args := append([]string{"act", post, "--operator", "alice", "--reason", "answering", "--request-id", "r-1", "--wait", "100ms"}, tc.args...)
			if code := te.run(args...); code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, te.stderr)
			}
			if line := te.errLine(t); !strings.Contains(line, tc.errSub) {
				t.Fatalf("error %q lacks %q", line, tc.errSub)
			}
			if got := len(fc.sent) > 0; got != tc.sent {
				t.Fatalf("sent %+v, want sent=%v", fc.sent, tc.sent)
			}
		})
	}
}

func TestApprovals(t *testing.T) {
	fc := newPostFake(awaitingStatus())
	fc.running["post/p2"] = "run-p2"
	fc.answers["post/p2 status"] = []any{answeredStatus(domain.StatusSuccess, "bob")} // answered since visibility saw it
	fc.pages = [][]*workflowpb.WorkflowExecutionInfo{{
		listed(t, "post/p1", workflows.StateAwaitingApproval, "tier_3", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING),
		listed(t, "post/p2", workflows.StateAwaitingApproval, "tier_3", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING),
	}}
	te := newSafetyEnv(t, fc)
	if code := te.run("approvals", "--agent", "a1"); code != exitOK {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	if q := fc.queries[0].Query; q != "WorkflowType = 'PostWorkflow' AND ResurgeAgent = 'a1' AND ResurgeState = 'awaiting_approval' AND ExecutionStatus = 'Running'" {
		t.Fatalf("query %s", q)
	}
	out := te.stdout.String()
	for _, sub := range []string{"1 post awaits approval", "post p1 (agent a1, workflow post/p1)", "thread (tier_3, score 0.90)", pThreadKey,
		"part 2", "approval_actions list thread", workflows.ApproveCommand("p1", pThreadKey), workflows.RejectCommand("p1", pThreadKey), "(in 5h50m)"} {
		if !strings.Contains(out, sub) {
			t.Errorf("stdout lacks %q:\n%s", sub, out)
		}
	}
	if strings.Contains(out, "p2") {
		t.Errorf("a post no longer waiting is listed:\n%s", out)
	}

	fc.queries = nil
	te = newSafetyEnv(t, fc)
	fc.answers[postStatusKey] = []any{awaitingStatus()}
	if code := te.run("approvals", "--json"); code != exitOK {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	var res struct {
		Count     int           `json:"count"`
		Approvals []pendingItem `json:"approvals"`
	}
	te.oneJSON(t, &res)
	if res.Count != 1 || res.Approvals[0].Pending == nil || res.Approvals[0].Pending.ApproveCommand == "" {
		t.Fatalf("json %+v", res)
	}
}
