package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"resurge/domain"
	"resurge/workflows"
)

var safetyNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

const arbiterStateKey = workflows.ArbiterWorkflowID + " " + workflows.QueryArbiterState

// newSafetyEnv is a test env with a fixed clock and a short wait for the arbiter's state.
func newSafetyEnv(t *testing.T, fc *fakeClient) *testEnv {
	t.Helper()
	te := newTestEnv(t, fc, "")
	te.env.now = func() time.Time { return safetyNow }
	te.env.safetyWait = 150 * time.Millisecond
	te.env.safetyPoll = 5 * time.Millisecond
	return te
}

// newArbiterFake is a fake client with a running arbiter answering the state query with states,
// in turn (the last one keeps answering).
func newArbiterFake(states ...workflows.ArbiterState) *fakeClient {
	fc := newFakeClient()
	fc.running[workflows.ArbiterWorkflowID] = "run-arbiter"
	for _, s := range states {
		fc.answers[arbiterStateKey] = append(fc.answers[arbiterStateKey], s)
	}
	return fc
}

func lockedState() workflows.ArbiterState {
	var st workflows.ArbiterState
	st.Lock = workflows.LockState{Active: true, Source: "monitor/a1", Reason: "systemic anomaly: agent a1 at tier 3",
		Since: safetyNow.Add(-3 * time.Minute), Tier: 3, Confidence: 0.91}
	st.Counters = workflows.ArbiterCounters{Allowed: 7, Denied: 2, Locked: 1, Locks: 1}
	st.Runs = 1
	return st
}

func releasedState(operator, reason string) workflows.ArbiterState {
	st := lockedState()
	st.Lock = workflows.LockState{ReleasedBy: operator, ReleaseReason: reason, ReleasedAt: safetyNow.Add(-time.Second)}
	st.Counters.Releases++
	return st
}

func TestReleaseLockNeedsOperatorAndReason(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		errSub string
	}{
		{"neither", nil, "--operator and --reason are required"},
		{"no operator", []string{"--reason", "fixed"}, "--operator is required"},
		{"no reason", []string{"--operator", "alice"}, "--reason is required"},
		{"blank operator", []string{"--operator", "  ", "--reason", "fixed"}, "--operator is required"},
		{"blank reason", []string{"--operator", "alice", "--reason", "\t"}, "--reason is required"},
		{"extra argument", []string{"--operator", "alice", "--reason", "fixed", "now"}, `unexpected argument "now"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fc := newArbiterFake(lockedState(), releasedState("alice", "fixed"))
			te := newSafetyEnv(t, fc)
			if code := te.run(append([]string{"release-lock"}, tc.args...)...); code != exitUsage {
				t.Fatalf("exit %d, want 2\nstderr: %s", code, te.stderr)
			}
			if line := te.errLine(t); !strings.Contains(line, tc.errSub) {
				t.Errorf("error line %q lacks %q", line, tc.errSub)
			}
			if len(fc.sent) != 0 || te.dials != 0 {
				t.Errorf("sent %+v (dials %d), want nothing", fc.sent, te.dials)
			}
		})
	}
}

func TestReleaseLock(t *testing.T) {
	for _, asJSON := range []bool{false, true} {
		fc := newArbiterFake(lockedState(), lockedState(), releasedState("alice", "false alarm"))
		te := newSafetyEnv(t, fc)
		args := []string{"release-lock", "--operator", "alice", "--reason", "false alarm"}
		if asJSON {
			args = append(args, "--json")
		}
		if code := te.run(args...); code != exitOK {
			t.Fatalf("json %v: exit %d: %s", asJSON, code, te.stderr)
		}
		if len(fc.sent) != 1 {
			t.Fatalf("sent %+v, want one signal", fc.sent)
		}
		s := fc.sent[0]
		if s.WithStart || s.WorkflowID != workflows.ArbiterWorkflowID || s.Name != "release-lock" {
			t.Errorf("signal %+v", s)
		}
		var req domain.ReleaseRequest
		if err := json.Unmarshal(s.Arg, &req); err != nil || req != (domain.ReleaseRequest{Operator: "alice", Reason: "false alarm"}) {
			t.Errorf("signal argument %s (%v)", s.Arg, err)
		}
		if fc.queried[arbiterStateKey] < 2 {
			t.Errorf("state queried %d times, want the state before and after", fc.queried[arbiterStateKey])
		}
		if asJSON {
			var res releaseResult
			te.oneJSON(t, &res)
			if !res.Released || res.Lock == nil || res.Lock.Active || res.Lock.ReleasedBy != "alice" || res.WasLocked == nil || !*res.WasLocked {
				t.Errorf("json %+v", res)
			}
			continue
		}
		out := te.stdout.String()
		if !strings.HasPrefix(out, "lock off: released by alice") || !strings.Contains(out, "false alarm") {
			t.Errorf("stdout %q", out)
		}
	}
}

func TestReleaseLockStaysLocked(t *testing.T) {
	rejected := lockedState()
	rejected.Counters.RejectedReleases = 1
	rejected.Counters.RejectedSignals = 1
	rejected.Rejected = []workflows.RejectedInput{{At: safetyNow, What: "release-lock signal (lock kept)", Error: "release.reason: is required"}}
	relocked := lockedState()
	relocked.Counters.Releases = 1
	relocked.Counters.Locks = 2
	relocked.Lock.Since = safetyNow

	tests := []struct {
		name   string
		states []workflows.ArbiterState
		errSub []string
	}{
		{"not processed", []workflows.ArbiterState{lockedState()}, []string{"still on after 150ms", "systemic anomaly"}},
		{"rejected", []workflows.ArbiterState{lockedState(), rejected}, []string{"rejected the release", "release.reason: is required"}},
		{"locked again", []workflows.ArbiterState{lockedState(), relocked}, []string{"release was applied, but the lock is on again", "monitor/a1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, asJSON := range []bool{false, true} {
				fc := newArbiterFake(tc.states...)
				te := newSafetyEnv(t, fc)
				args := []string{"release-lock", "--operator", "alice", "--reason", "fixed"}
				if asJSON {
					args = append(args, "--json")
				}
				if code := te.run(args...); code != exitFailed {
					t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, te.stdout, te.stderr)
				}
				line := te.errLine(t)
				for _, sub := range tc.errSub {
					if !strings.Contains(line, sub) {
						t.Errorf("error line %q lacks %q", line, sub)
					}
				}
				if len(fc.sent) != 1 || fc.sent[0].Name != workflows.SignalReleaseLock {
					t.Errorf("sent %+v", fc.sent)
				}
				if asJSON {
					var res releaseResult
					te.oneJSON(t, &res)
					if res.Released || res.Lock == nil || !res.Lock.Active || res.Error == "" {
						t.Errorf("json %+v", res)
					}
				} else if te.stdout.Len() != 0 {
					t.Errorf("stdout %q, want nothing", te.stdout)
				}
			}
		})
	}
}

func TestReleaseLockWithoutArbiter(t *testing.T) {
	fc := newFakeClient()
	fc.queryErrs[workflows.ArbiterWorkflowID] = serviceerror.NewNotFound("workflow not found for ID: safety-arbiter")
	te := newSafetyEnv(t, fc)
	if code := te.run("release-lock", "--operator", "alice", "--reason", "fixed"); code != exitFailed {
		t.Fatalf("exit %d, want 1: %s", code, te.stderr)
	}
	if line := te.errLine(t); !strings.Contains(line, "no arbiter running") || !strings.Contains(line, "nothing was sent") {
		t.Errorf("error line %q", line)
	}
	if len(fc.sent) != 0 {
		t.Errorf("sent %+v", fc.sent)
	}
}

func TestLockNeedsReason(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		errSub string
	}{
		{"no reason", nil, "--reason is required"},
		{"blank reason", []string{"--reason", " "}, "--reason is required"},
		{"blank source", []string{"--reason", "r", "--source", ""}, "--source"},
		{"confidence above 1", []string{"--reason", "r", "--confidence", "1.5"}, "--confidence"},
		{"confidence not a number", []string{"--reason", "r", "--confidence", "NaN"}, "--confidence"},
		{"bad confidence", []string{"--reason", "r", "--confidence", "high"}, "confidence"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			te := newSafetyEnv(t, nil) // must not connect
			if code := te.run(append([]string{"lock"}, tc.args...)...); code != exitUsage {
				t.Fatalf("exit %d, want 2: %s", code, te.stderr)
			}
			if line := te.errLine(t); !strings.Contains(line, tc.errSub) {
				t.Errorf("error line %q lacks %q", line, tc.errSub)
			}
		})
	}
}

func TestLock(t *testing.T) {
	t.Setenv("USER", "bob")
	var off workflows.ArbiterState
	on := off
	on.Lock = workflows.LockState{Active: true, Source: "operator:bob", Reason: "bad replies", Since: safetyNow, Tier: 3, Confidence: 1}
	for _, asJSON := range []bool{false, true} {
		fc := newFakeClient() // no arbiter yet: lock starts it
		fc.answers[arbiterStateKey] = []any{off, on}
		te := newSafetyEnv(t, fc)
		args := []string{"lock", "--reason", "bad replies"}
		if asJSON {
			args = append(args, "--json")
		}
		if code := te.run(args...); code != exitOK {
			t.Fatalf("exit %d: %s", code, te.stderr)
		}
		if len(fc.sent) != 1 {
			t.Fatalf("sent %+v", fc.sent)
		}
		s := fc.sent[0]
		if !s.WithStart || s.WorkflowID != workflows.ArbiterWorkflowID || s.Name != workflows.SignalLock ||
			s.Start.ID != workflows.ArbiterWorkflowID || s.Start.TaskQueue != workflows.SafetyTaskQueue ||
			s.Start.WorkflowIDConflictPolicy != enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING {
			t.Errorf("signal %+v", s)
		}
		var req domain.LockRequest
		if err := json.Unmarshal(s.Arg, &req); err != nil {
			t.Fatal(err)
		}
		if req.Source != "operator:bob" || req.Reason != "bad replies" || req.Tier != 3 || req.Confidence != 1 {
			t.Errorf("lock request %+v", req)
		}
		if asJSON {
			var res lockResult
			te.oneJSON(t, &res)
			if !res.Locked || res.Lock == nil || !res.Lock.Active || res.WorkflowID != workflows.ArbiterWorkflowID {
				t.Errorf("json %+v", res)
			}
			continue
		}
		if out := te.stdout.String(); !strings.HasPrefix(out, "lock on: by operator:bob") || !strings.Contains(out, "bad replies") ||
			strings.Contains(out, "already on") {
			t.Errorf("stdout %q", out)
		}
	}
}

func TestLockAlreadyOnAndNotShown(t *testing.T) {
	fc := newArbiterFake(lockedState())
	te := newSafetyEnv(t, fc)
	if code := te.run("lock", "--reason", "r", "--source", "ops", "--confidence", "0.5"); code != exitOK {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	if out := te.stdout.String(); !strings.Contains(out, "by monitor/a1") || !strings.Contains(out, "already on") {
		t.Errorf("stdout %q", out)
	}
	var req domain.LockRequest
	if err := json.Unmarshal(fc.sent[0].Arg, &req); err != nil || req.Source != "ops" || req.Confidence != 0.5 {
		t.Errorf("lock request %s", fc.sent[0].Arg)
	}

	fc = newArbiterFake(workflows.ArbiterState{})
	te = newSafetyEnv(t, fc)
	if code := te.run("lock", "--reason", "r"); code != exitFailed {
		t.Fatalf("exit %d, want 1: %s", code, te.stderr)
	}
	if line := te.errLine(t); !strings.Contains(line, "does not show the lock on") {
		t.Errorf("error line %q", line)
	}
}

func sampleArbiterState() workflows.ArbiterState {
	st := lockedState()
	st.Lock.Brief = json.RawMessage(`{"trigger_metrics":[]}`)
	st.Lock.ReleasedBy, st.Lock.ReleaseReason, st.Lock.ReleasedAt = "carol", "after the incident", safetyNow.Add(-48*time.Hour)
	st.AgentTiers = []domain.AgentHealth{{Agent: "a1", Tier: 3, Confidence: 0.91, At: safetyNow.Add(-3 * time.Minute)}}
	st.Recent = []workflows.DecisionRecord{
		{Post: "p1", Agent: "a1", Action: domain.ActionComment, Key: "k1", Decision: domain.ArbitrationDecision{
			Decision: domain.DecisionAllow, Reasons: []string{"ok"}, At: safetyNow.Add(-10 * time.Minute)}},
		{Post: "p2", Agent: "a1", Action: domain.ActionThread, Key: "k2", Decision: domain.ArbitrationDecision{
			Decision: domain.DecisionLock, Reasons: []string{"lock is active", "agent tier 3"}, LockActive: true, At: safetyNow.Add(-time.Minute)}},
	}
	st.Rejected = []workflows.RejectedInput{{At: safetyNow.Add(-time.Hour), What: "agent-health signal", Error: "health.tier: must be between 0 and 3, got 7"}}
	st.Counters.RejectedSignals = 1
	st.UpdatesThisRun = 9
	return st
}

func TestArbiter(t *testing.T) {
	want := sampleArbiterState()
	fc := newArbiterFake(want)
	te := newSafetyEnv(t, fc)
	if code := te.run("arbiter"); code != exitOK {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	out := te.stdout.String()
	for _, sub := range []string{
		"lock  ", "ON:", "systemic anomaly: agent a1 at tier 3", "monitor/a1", "2026-11-25 11:57:00Z (3m ago)", "0.91",
		"by carol at 2026-11-23 12:00:00Z (48h ago): after the incident", "allowed 7, denied 2 (0 awaiting a person's approval), locked 1", "people's actions  allowed 0, denied 0",
		"agent tiers: 1", "recent decisions: 2", "TIME", "REASONS", "p2", string(domain.ActionThread), "lock is active; agent tier 3",
		"rejected inputs: 1", "health.tier: must be between 0 and 3",
	} {
		if !strings.Contains(out, sub) {
			t.Errorf("stdout lacks %q:\n%s", sub, out)
		}
	}
	if len(fc.sent) != 0 {
		t.Errorf("arbiter sent %+v", fc.sent)
	}

	te = newSafetyEnv(t, newArbiterFake(want))
	if code := te.run("arbiter", "--json"); code != exitOK {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	var got workflows.ArbiterState
	te.oneJSON(t, &got)
	if !got.Lock.Active || got.Lock.Reason != want.Lock.Reason || len(got.Recent) != 2 || got.Recent[1].Decision.Decision != domain.DecisionLock ||
		got.UpdatesThisRun != 9 || len(got.AgentTiers) != 1 || len(got.Rejected) != 1 {
		t.Errorf("json %+v", got)
	}

	// Unlocked: says so.
	te = newSafetyEnv(t, newArbiterFake(releasedState("alice", "fixed")))
	if code := te.run("arbiter"); code != exitOK {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	if out := te.stdout.String(); !strings.Contains(out, "off") || !strings.Contains(out, "by alice") {
		t.Errorf("stdout %q", out)
	}
}

func TestArbiterNotRunning(t *testing.T) {
	fc := newFakeClient()
	fc.queryErrs[workflows.ArbiterWorkflowID] = serviceerror.NewNotFound("workflow not found for ID: safety-arbiter")
	te := newSafetyEnv(t, fc)
	if code := te.run("arbiter"); code != exitFailed {
		t.Fatalf("exit %d, want 1", code)
	}
	if line := te.errLine(t); !strings.Contains(line, "no arbiter running") {
		t.Errorf("error line %q", line)
	}
	te = newSafetyEnv(t, nil)
	if code := te.run("arbiter", "extra"); code != exitUsage {
		t.Fatalf("exit %d, want 2", code)
	}
}

func sampleMonitorStatus() workflows.MonitorStatus {
	triggers := []domain.TriggerMetric{{Metric: "success_rate", Value: 0.4, Threshold: 0.55, Op: "<="}}
	snap := domain.Snapshot{Agent: "a1", Outcomes: 10, Successes: 4, SuccessRate: 0.4, ResponseTime: 32.5,
		EfficiencyScore: 0.38, MarketImpact: 0.47, Measured: 3, ConsecutiveFailures: 4, At: safetyNow.Add(-time.Minute)}
	rec := domain.Recommendation{Agent: "a1", Tier: 3, Confidence: 0.83, MaxIterations: 1, TriggerMetrics: triggers}
	st := workflows.MonitorStatus{Agent: "a1"}
	st.Last = &domain.Assessment{Snapshot: snap, Classified: 2, Tier: 3, Escalated: true, Iterations: 1, Confidence: 0.83,
		Recommendation: rec, Lock: true}
	st.Escalation = domain.Escalation{Tier: 3, Iterations: 1}
	st.Alerts = []domain.Alert{
		{Type: domain.AlertAnomaly, Severity: domain.SeverityWarning, Tier: 2, Confidence: 0.7, Agent: "a1",
			Timestamp: safetyNow.Add(-2 * time.Minute), Recommendation: rec},
		{Type: domain.AlertSystemicAnomaly, Severity: domain.SeverityCritical, Tier: 3, Confidence: 0.83, Agent: "a1",
			Timestamp: safetyNow.Add(-time.Minute), Escalated: true, Recommendation: rec},
	}
	st.OutcomeSeq, st.LockedAtSeq, st.ReportedTier, st.Evaluations, st.Runs = 12, 12, 3, 5, 1
	return st
}

func TestMonitor(t *testing.T) {
	key := workflows.MonitorWorkflowID("a1") + " " + workflows.QueryMonitorStatus
	fc := newFakeClient()
	fc.answers[key] = []any{sampleMonitorStatus()}
	te := newSafetyEnv(t, fc)
	if code := te.run("monitor", "a1"); code != exitOK {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	out := te.stdout.String()
	for _, sub := range []string{
		"agent a1 (workflow monitor/a1)", "0.40 (4 of 10 succeeded)", "0.38", "32.5s", "0.47 (3 measured)",
		"consec. failures  4", "3 (classified 2, escalated", "0.83", "yes, at outcome #12",
		"alerts: 2", "SEVERITY", "ESCALATED", "systemic_anomaly", "critical", "success_rate 0.40 <= 0.55",
	} {
		if !strings.Contains(out, sub) {
			t.Errorf("stdout lacks %q:\n%s", sub, out)
		}
	}

	fc.answers[key] = []any{sampleMonitorStatus()}
	te = newSafetyEnv(t, fc)
	if code := te.run("monitor", "--json", "a1"); code != exitOK {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	var got workflows.MonitorStatus
	te.oneJSON(t, &got)
	if got.Agent != "a1" || got.Last == nil || !got.Last.Lock || len(got.Alerts) != 2 || got.LockedAtSeq != 12 {
		t.Errorf("json %+v", got)
	}

	// Not evaluated yet.
	fc.answers[key] = []any{workflows.MonitorStatus{Agent: "a1"}}
	te = newSafetyEnv(t, fc)
	if code := te.run("monitor", "a1"); code != exitOK {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	if out := te.stdout.String(); !strings.Contains(out, "not evaluated yet") || !strings.Contains(out, "alerts: 0") {
		t.Errorf("stdout %q", out)
	}
}

func TestMonitorErrors(t *testing.T) {
	fc := newFakeClient()
	fc.queryErrs[workflows.MonitorWorkflowID("ghost")] = serviceerror.NewNotFound("workflow not found for ID: monitor/ghost")
	te := newSafetyEnv(t, fc)
	if code := te.run("monitor", "ghost"); code != exitFailed {
		t.Fatalf("exit %d, want 1", code)
	}
	want := "error: no monitor for agent ghost yet (it starts with the agent's first action outcome)"
	if line := te.errLine(t); line != want {
		t.Errorf("error line %q, want %q", line, want)
	}

	for _, args := range [][]string{{"monitor"}, {"monitor", "a b"}, {"monitor", "a\x01"}, {"monitor", ""}, {"monitor", "a1", "a2"}} {
		te := newSafetyEnv(t, nil) // must not connect
		if code := te.run(args...); code != exitUsage {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
		te.errLine(t)
	}
}
