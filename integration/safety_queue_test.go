package integration

import (
	"fmt"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"resurge/devstack"
	"resurge/domain"
	"resurge/workflows"
)

// TestArbiterMovesToTheSafetyQueue: an arbiter run started on the posts' task queue, as every
// arbiter was before the safety queue existed, keeps answering there (workers still serve it
// on that queue) and continues as new onto workflows.SafetyTaskQueue, its lock and counters
// carried. The old run's history, with the version marker of the move, is the committed one of
// that path.
func TestArbiterMovesToTheSafetyQueue(t *testing.T) {
	t.Parallel() // light
	fs := startFaultStack(t, devstack.Options{})
	ctx := testContext(t, 2*time.Minute)
	// The worker started an arbiter on the safety queue; replace it with an old-style one.
	if err := fs.Client.TerminateWorkflow(ctx, workflows.ArbiterWorkflowID, "", "replaced by an arbiter on the posts' queue"); err != nil {
		t.Fatal(err)
	}
	run, err := fs.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.ArbiterWorkflowID, TaskQueue: workflows.TaskQueue},
		workflows.ArbiterWorkflow, workflows.ArbiterInput{Policy: domain.DefaultSafetyPolicy(), MaxUpdatesPerRun: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.safety.Lock(ctx, domain.LockRequest{Source: "operator", Reason: "upgrade check", Tier: 3, Confidence: 1}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		post := fmt.Sprintf("p%d", i)
		req := domain.ArbitrationRequest{PostID: post, Agent: "agent-queue", Platform: domain.PlatformSim, Action: domain.ActionComment,
			Tier: domain.Tier1, Key: domain.IdempotencyKey(post, domain.ActionComment, domain.Tier1), Texts: []string{"hello"}, At: time.Now()}
		d, err := fs.safety.Arbitrate(ctx, req)
		if err != nil || d.Decision != domain.DecisionLock {
			t.Fatalf("%s: %+v, %v: want lock", post, d, err)
		}
	}
	eventually(t, time.Minute, "the arbiter continued as new", func() (bool, string) {
		desc, err := fs.Client.DescribeWorkflowExecution(ctx, workflows.ArbiterWorkflowID, "")
		if err != nil {
			return false, err.Error()
		}
		info := desc.GetWorkflowExecutionInfo()
		return info.GetExecution().GetRunId() != run.GetRunID() && info.GetTaskQueue() == workflows.SafetyTaskQueue &&
				info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
			fmt.Sprintf("run %s on %s, %s", info.GetExecution().GetRunId(), info.GetTaskQueue(), info.GetStatus())
	})
	st, err := fs.safety.ArbiterState(ctx)
	if err != nil || !st.Lock.Active || st.Counters.Locked != 3 || st.Runs != 2 {
		t.Fatalf("after the move: %+v, %v: want the lock, 3 lock answers, 2 runs", st, err)
	}
	checkReplayRun(t, fs.Client, workflows.ArbiterWorkflowID, run.GetRunID(), "arbiter_queue_move")
}
