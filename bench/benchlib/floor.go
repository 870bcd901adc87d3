package benchlib

import (
	"context"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// floorTaskQueue is the bare workflow's task queue, polled by a second worker in the same
// process, with the same worker options as Resurge's.
const floorTaskQueue = "bench-floor"

// floorMaxCyclesPerRun mirrors the post workflow's run length before continue-as-new.
const floorMaxCyclesPerRun = 500

// FloorInput starts the bare workflow.
type FloorInput struct {
	Interval time.Duration `json:"interval"`
}

// floorTicks counts the bare workflow's local activity executions (phases run one at a time).
var floorTicks atomic.Int64

// floorTick is the bare workflow's local activity: it only counts.
func floorTick(_ context.Context, i int) (int, error) {
	floorTicks.Add(1)
	return i + 1, nil
}

// FloorWorkflow is the floor the post workflow is measured against: the least a durable
// periodic evaluation can cost on Temporal — a timer, then one local activity, forever.
func FloorWorkflow(ctx workflow.Context, in FloorInput) error {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 15 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	})
	for i := 0; i < floorMaxCyclesPerRun; i++ {
		if err := workflow.Sleep(ctx, in.Interval); err != nil {
			return err
		}
		var next int
		if err := workflow.ExecuteLocalActivity(ctx, floorTick, i).Get(ctx, &next); err != nil {
			return err
		}
	}
	return workflow.NewContinueAsNewError(ctx, FloorWorkflow, in)
}
