package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"

	"resurge/domain"
	"resurge/workflows"
)

func TestStartOnePost(t *testing.T) {
	fc := newFakeClient()
	args := []string{"start", "--post", "p1", "--agent", "a1", "--comment", "c", "--edit", "e",
		"--thread", "part 1", "--thread", "part 2", "--window", "2h", "--max-actions", "3"}
	te := newTestEnv(t, fc, "")
	if code := te.run(args...); code != exitOK {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	if !strings.HasPrefix(te.stdout.String(), "started: post p1") {
		t.Errorf("stdout %q", te.stdout)
	}
	if len(fc.started) != 1 || fc.started[0].ID != "post/p1" || fc.started[0].TaskQueue != workflows.TaskQueue {
		t.Fatalf("started %+v", fc.started)
	}

	// Again: the running workflow is kept and reported as such.
	te = newTestEnv(t, fc, "")
	if code := te.run(append(args, "--json")...); code != exitOK {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	var r startResult
	te.oneJSON(t, &r)
	if r.Result != resultExisting || r.RunID != "run-1" || r.WorkflowID != "post/p1" {
		t.Errorf("second start: %+v", r)
	}
}

func TestStartOnePostFailure(t *testing.T) {
	fc := newFakeClient()
	fc.failStart["post/p1"] = serviceerror.NewUnavailable("frontend is down")
	te := newTestEnv(t, fc, "")
	code := te.run("start", "--post", "p1", "--agent", "a1", "--comment", "c", "--edit", "e", "--thread", "t")
	if code != exitFailed {
		t.Fatalf("exit %d, want 1", code)
	}
	if line := te.errLine(t); !strings.Contains(line, "frontend is down") || !strings.Contains(line, "p1") {
		t.Errorf("error line %q", line)
	}
}

func writeBatch(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("post_id,platform,agent,comment_text,edit_text,thread_texts,horizon\n")
	for i := range n {
		fmt.Fprintf(&b, "p%d,sim,a%d,comment %d,edit %d,one | two,\n", i, i%3, i, i)
	}
	path := filepath.Join(t.TempDir(), "posts.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestStartBatch(t *testing.T) {
	path := writeBatch(t, 25)
	fc := newFakeClient()
	fc.running["post/p3"] = "old-run-3" // already watched
	fc.running["post/p7"] = "old-run-7"
	fc.failStart["post/p11"] = errors.New("boom")
	te := newTestEnv(t, fc, "")
	code := te.run("start", "--file", path, "--progress-every", "10", "--concurrency", "4", "--horizon", "6h", "--json")
	if code != exitFailed {
		t.Fatalf("exit %d, want 1 (one post failed): %s", code, te.stderr)
	}
	var s startSummary
	te.oneJSON(t, &s)
	if s.Total != 25 || s.Started != 22 || s.Existing != 2 || s.Failed != 1 || s.Skipped != 0 || len(s.Results) != 25 {
		t.Fatalf("summary %+v", s)
	}
	for i, r := range s.Results { // in file order
		if r.PostID != fmt.Sprintf("p%d", i) || r.Line != i+2 {
			t.Errorf("result %d: %+v", i, r)
		}
	}
	if r := s.Results[3]; r.Result != resultExisting || r.RunID != "old-run-3" {
		t.Errorf("p3: %+v", r)
	}
	if r := s.Results[11]; r.Result != resultFailed || !strings.Contains(r.Error, "boom") {
		t.Errorf("p11: %+v", r)
	}
	stderr := te.stderr.String()
	for _, want := range []string{"progress 10/25", "progress 20/25", "failed: line 13: post p11", "error: 1 of 25 posts were not started"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	// The --horizon flag is the configuration of rows that do not set it.
	for _, o := range fc.started {
		if !strings.Contains(o.StaticDetails, "watched for 6h0m0s") {
			t.Fatalf("start options do not carry the flag's horizon: %s", o.StaticDetails)
		}
	}

	// Run again: everything is already watched except the post that failed, which starts now.
	delete(fc.failStart, "post/p11")
	te = newTestEnv(t, fc, "")
	if code := te.run("start", "--file", path, "--progress-every", "0"); code != exitOK {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	if want := "25 posts from " + path + ": started 1, already watching 24, failed 0\n"; te.stdout.String() != want {
		t.Errorf("stdout %q, want %q", te.stdout, want)
	}
	if te.stderr.Len() != 0 {
		t.Errorf("stderr: %s", te.stderr)
	}
}

func TestStartBatchFromStdinJSON(t *testing.T) {
	data := "[" + jsonEntry("p1", "") + "," + jsonEntry("p2", "") + "]"
	fc := newFakeClient()
	te := newTestEnv(t, fc, data)
	if code := te.run("start", "--file", "-", "--format", "json"); code != exitOK {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	if len(fc.started) != 2 {
		t.Errorf("started %d", len(fc.started))
	}
	te = newTestEnv(t, fc, data)
	if code := te.run("start", "--file", "-"); code != exitUsage {
		t.Errorf("stdin without --format: exit %d", code)
	}
}

func TestStatus(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	until := now.Add(20 * time.Minute)
	fc := newFakeClient()
	fc.status = workflows.PostStatus{
		Post:      domain.Post{ID: "p1", Platform: "sim", Agent: "a1"},
		Config:    domain.DefaultConfig(),
		State:     workflows.StateCoolingDown,
		StartedAt: now.Add(-time.Hour),
		EndsAt:    now.Add(47 * time.Hour),
		Window: []domain.MetricsSample{
			{At: now.Add(-20 * time.Minute), Impressions: 1000, Engagements: 10},
			{At: now.Add(-10 * time.Minute), Impressions: 1500, Engagements: 11},
		},
		LastScore: 0.96, LastTier: domain.Tier3,
		LastPlan: &domain.Plan{PostID: "p1", Reason: domain.ReasonCooldownActive, Action: domain.ActionThread, CooldownUntil: &until},
		Log: []domain.ActionRecord{{Key: domain.IdempotencyKey("p1", domain.ActionThread, domain.Tier3), PostID: "p1",
			Action: domain.ActionThread, Tier: domain.Tier3, InitiatedAt: now.Add(-40 * time.Minute), Status: domain.StatusSuccess, Attempts: 1}},
		NextSampleAt:   now.Add(4 * time.Minute),
		Cadence:        domain.Cadence{Mode: domain.CadenceAdaptive, Interval: 20 * time.Minute, Reason: "stable for 10m: ×2"},
		Cooldowns:      []workflows.Cooldown{{Action: domain.ActionThread, Until: until}},
		LastPermission: &domain.ArbitrationDecision{Decision: domain.DecisionAllow, Reasons: []string{"within limits"}, At: now.Add(-40 * time.Minute)},
		Rejected:       []workflows.RejectedInput{{At: now.Add(-30 * time.Minute), What: "sample", Error: "sample.impressions: went down"}},
		RejectedCount:  3,
		Runs:           1, Cycles: 6,
	}
	te := newTestEnv(t, fc, "")
	te.env.now = func() time.Time { return now }
	if code := te.run("status", "p1"); code != exitOK {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	out := te.stdout.String()
	for _, want := range []string{
		"cooling_down", "0.960 → tier_3", "not acting: action_cooldown_active (would be thread) until 2026-11-25 12:20:00Z",
		"2026-11-25 12:04:00Z (in 4m)", "thread until 2026-11-25 12:20:00Z (in 20m)", "allow at", "within limits",
		"window: 2 samples", "1500", "actions: 1", "sheal_2304be7ef58ba8f0e6dd06cb68632a31", "success",
		"rejected inputs: 3 (the last 1 shown)", "went down", "adaptive, every 20m0s: stable for 10m: ×2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}

	te = newTestEnv(t, fc, "")
	if code := te.run("status", "--json", "p1"); code != exitOK {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	var st workflows.PostStatus
	te.oneJSON(t, &st)
	if st.State != workflows.StateCoolingDown || len(st.Log) != 1 || st.RejectedCount != 3 || st.Cadence.Interval != 20*time.Minute {
		t.Errorf("JSON status %+v", st)
	}

	fc.queryErr = serviceerror.NewNotFound("workflow not found for ID: post/p9")
	te = newTestEnv(t, fc, "")
	if code := te.run("status", "p9"); code != exitFailed {
		t.Fatalf("not found: exit %d", code)
	}
	if line := te.errLine(t); !strings.Contains(line, "no workflow post/p9") {
		t.Errorf("error line %q", line)
	}
}

func TestStop(t *testing.T) {
	fc := newFakeClient()
	fc.running["post/p1"] = "r1"
	te := newTestEnv(t, fc, "")
	if code := te.run("stop", "p1", "--reason", "campaign over", "--operator", "ana"); code != exitOK {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	if !strings.HasPrefix(te.stdout.String(), "ok:") {
		t.Errorf("stdout %q", te.stdout)
	}
	if len(fc.signals) != 1 || fc.signals[0] != `post/p1 stop {"reason":"campaign over","operator":"ana"}` {
		t.Errorf("signals %q", fc.signals)
	}
	te = newTestEnv(t, fc, "")
	if code := te.run("stop", "p2"); code != exitFailed {
		t.Fatalf("stopping an unknown post: exit %d", code)
	}
	te.errLine(t)
}

func TestStartBatchInterrupted(t *testing.T) {
	path := writeBatch(t, 30)
	fc := newFakeClient()
	te := newTestEnv(t, fc, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // as if Ctrl-C came before the first post
	if code := run(ctx, te.env, []string{"start", "--file", path, "--json"}); code != exitFailed {
		t.Fatalf("exit %d, want 1", code)
	}
	var s startSummary
	te.oneJSON(t, &s)
	if s.Skipped != 30 || s.Started+s.Existing+s.Failed != 0 || len(fc.started) != 0 {
		t.Fatalf("summary %+v, %d started", s, len(fc.started))
	}
	if r := s.Results[29]; r.Result != resultSkipped || r.PostID != "p29" || r.Line != 31 {
		t.Errorf("last result %+v", r)
	}
	if !strings.Contains(te.stderr.String(), "skipped: 30 posts were not attempted") {
		t.Errorf("stderr: %s", te.stderr)
	}
}
