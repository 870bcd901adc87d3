package workflows

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
)

// TestReplayCommittedHistories replays histories recorded on a real server (the integration
// tests write them with RESURGE_UPDATE_HISTORIES=1) against the current workflow code. A change
// that is not deterministic with respect to running workflows fails here. The legacy_*
// histories were recorded by earlier versions and are never rewritten: workflows started
// before an upgrade must keep replaying after it.
func TestReplayCommittedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"post_thread.json": false, "post_stopped.json": false, "monitor_lock.json": false, "arbiter_lock_release.json": false, "post_blocked.json": false,
		"arbiter_bad_input.json": false, "monitor_bad_input.json": false,
		"legacy_post_thread.json": false, "legacy_post_stopped.json": false, "legacy_post_blocked.json": false,
		"post_approved.json": false, "post_rejected.json": false, "post_approval_expired.json": false, "post_operator_locked.json": false,
		"monitor_people.json": false, "arbiter_people.json": false,
		"post_budget_retry.json": false, "post_adaptive.json": false,
		"legacy_arbiter_lock_release.json": false, "legacy_arbiter_people.json": false, "arbiter_queue_move.json": false}
	for _, f := range files {
		want[filepath.Base(f)] = true
	}
	for name, found := range want {
		if !found {
			t.Errorf("committed history %s is missing", name)
		}
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflow(PostWorkflow)
			r.RegisterWorkflow(MonitorWorkflow)
			r.RegisterWorkflow(ArbiterWorkflow)
			if err := r.ReplayWorkflowHistoryFromJSONFile(quietLogger(), f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}
