package integration

import (
	"fmt"
	"testing"
	"time"

	"resurge/devstack"
	"resurge/domain"
	"resurge/workflows"
)

// TestAdaptiveCadenceOnTheServer: a post on the adaptive cadence (accelerated: 1 s at its
// densest, a 6 s window) comments while young, then relaxes to the sparsest interval its
// window allows; its status says so, and its samples are spaced accordingly. Its history is
// the committed one of that path.
func TestAdaptiveCadenceOnTheServer(t *testing.T) {
	t.Parallel() // light: mostly waits on timers (see faults_harness_test.go)
	fs := startFaultStack(t, devstack.Options{})
	ctx := testContext(t, 2*time.Minute)
	in := testPost("grow-cadence", "agent-cadence")
	in.Config.Cadence = domain.CadenceAdaptive
	sparsest := in.Config.SparsestInterval()
	startPosts(t, fs.Stack, in)

	var st workflows.PostStatus
	eventually(t, time.Minute, "the post relaxed to the sparsest interval", func() (bool, string) {
		var err error
		st, err = workflows.QueryPostStatus(ctx, fs.Client, in.Post.ID)
		if err != nil {
			return false, err.Error()
		}
		return st.Cadence.Interval == sparsest && st.Cycles >= 12, fmt.Sprintf("%d cycles, cadence %+v", st.Cycles, st.Cadence)
	})
	if st.Cadence.Mode != domain.CadenceAdaptive || st.Cadence.Reason == "" || len(st.Log) != 1 || st.Log[0].Status != domain.StatusSuccess {
		t.Fatalf("status %+v, log %+v: want the comment done and the sparsest cadence explained", st.Cadence, st.Log)
	}
	// The window still holds enough samples to plan at the sparsest interval.
	if st.LastPlan == nil || st.LastPlan.SampleCount < in.Config.MinSamples {
		t.Fatalf("last plan %+v: fewer than %d samples in the window", st.LastPlan, in.Config.MinSamples)
	}
	if err := workflows.StopPost(ctx, fs.Client, in.Post.ID, workflows.StopRequest{Reason: "test done"}); err != nil {
		t.Fatal(err)
	}
	var sum workflows.PostSummary
	if err := fs.Client.GetWorkflow(ctx, workflows.PostWorkflowID(in.Post.ID), "").Get(ctx, &sum); err != nil {
		t.Fatal(err)
	}
	checkReplay(t, fs.Client, workflows.PostWorkflowID(in.Post.ID), "post_adaptive")
}
