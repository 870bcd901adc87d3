package integration

import (
	"fmt"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"resurge/devstack"
	"resurge/domain"
	"resurge/workflows"
)

// TestFaultServerRestarts: 200 open posts; the Temporal server is stopped under the running
// worker, client and platform and started again on the same data directory, 5 times, while
// posts sample, plan, ask the arbiter and act. Posts are started in batches between restarts
// and need from 3 to 6 samples before their first plan, so actions are on their way at every
// restart. Every workflow continues (same run, still running, still sampling), and no action
// record is lost or repeated: one effect per key, matching each post's log.
func TestFaultServerRestarts(t *testing.T) {
	const restarts = 5
	n := 200 * soakRounds()
	fs := startFaultStack(t, devstack.Options{DataDir: t.TempDir()})

	var all []workflows.PostInput
	runs := map[string]string{}
	for r := range restarts {
		var batch []workflows.PostInput
		for i, p := range curvePosts(fmt.Sprintf("restart%d", r), n/restarts, func(i int) string { return fmt.Sprintf("agent-restart-%d", i%10) }, massConfig()) {
			p.Config.MinSamples = 3 + i%4
			p.Config.Window = time.Duration(p.Config.MinSamples+1) * p.Config.SampleInterval
			batch = append(batch, p)
		}
		for id, run := range startPostsRuns(t, fs, batch) {
			runs[id] = run
		}
		all = append(all, batch...)
		time.Sleep(3 * time.Second) // some act, some are on their way
		before := len(fs.Sim.Effects())
		start := time.Now()
		if err := fs.RestartServer(testContext(t, devServerStartTimeout)); err != nil {
			t.Fatalf("restart %d: %v", r+1, err)
		}
		t.Logf("restart %d: %d posts open, %d effects so far; the server was back after %s",
			r+1, len(all), before, time.Since(start).Round(time.Millisecond))
	}

	ids := postIDs(all)
	sts := waitPosts(t, fs, 3*time.Minute, "every post acting after the restarts", ids,
		func(st workflows.PostStatus) bool { return hasStatus(st, domain.StatusSuccess) })
	// Every workflow continues: the same run as started, still running, still sampling.
	time.Sleep(2 * massConfig().SampleInterval)
	later, err := statuses(t, fs, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		desc, err := fs.Client.DescribeWorkflowExecution(t.Context(), workflows.PostWorkflowID(id), "")
		if err != nil {
			t.Fatalf("describe %s: %v", id, err)
		}
		info := desc.WorkflowExecutionInfo
		if info.Execution.RunId != runs[id] || info.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t.Errorf("%s: run %s %s, want the run started (%s) still running", id, info.Execution.RunId, info.Status, runs[id])
		}
		if later[id].Cycles <= sts[id].Cycles || later[id].State == workflows.StateDone {
			t.Errorf("%s: %d cycles, then %d (%s): it stopped sampling", id, sts[id].Cycles, later[id].Cycles, later[id].State)
		}
	}
	logs := stopPosts(t, fs, ids)
	effects := checkOneEffectPerRecord(t, fs, logs)
	t.Logf("%d posts, %d effects, each recorded once", len(ids), effects)
}

// startPostsRuns starts posts and returns the run ID of each.
func startPostsRuns(t *testing.T, fs *faultStack, posts []workflows.PostInput) map[string]string {
	t.Helper()
	runs := make([]string, len(posts))
	errs := parallel(len(posts), 16, func(i int) error {
		run, err := workflows.StartPost(testContext(t, time.Minute), fs.Client, posts[i])
		if err == nil {
			runs[i] = run.GetRunID()
		}
		return err
	})
	out := map[string]string{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start %s: %v", posts[i].Post.ID, err)
		}
		out[posts[i].Post.ID] = runs[i]
	}
	return out
}
