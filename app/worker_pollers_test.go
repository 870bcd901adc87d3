package app

import (
	"testing"

	"go.temporal.io/sdk/worker"
)

func TestPostsWorkerOptionsPollers(t *testing.T) {
	auto := worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{})
	for _, tc := range []struct {
		name        string
		in          worker.Options
		wantPollers int
		wantAuto    bool
	}{
		{"left to the SDK: our default", worker.Options{}, DefaultWorkflowTaskPollers, false},
		{"a count the caller chose", worker.Options{MaxConcurrentWorkflowTaskPollers: 3}, 3, false},
		{"a behaviour the caller chose", worker.Options{WorkflowTaskPollerBehavior: auto}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := postsWorkerOptions(tc.in)
			if got.MaxConcurrentWorkflowTaskPollers != tc.wantPollers {
				t.Errorf("MaxConcurrentWorkflowTaskPollers = %d, want %d", got.MaxConcurrentWorkflowTaskPollers, tc.wantPollers)
			}
			if (got.WorkflowTaskPollerBehavior != nil) != tc.wantAuto {
				t.Errorf("WorkflowTaskPollerBehavior = %v, want set %v", got.WorkflowTaskPollerBehavior, tc.wantAuto)
			}
		})
	}
	if DefaultWorkflowTaskPollers <= 2 {
		t.Errorf("DefaultWorkflowTaskPollers = %d: no more than the SDK's own 2", DefaultWorkflowTaskPollers)
	}
}
