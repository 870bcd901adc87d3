package production

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"resurge/domain"
	"resurge/internal/faultcheck"
	"resurge/platform/sim"
	"resurge/workflows"
)

// The process-level fault suite: each test runs the whole production topology (PostgreSQL, the
// Temporal server binary, resurge-sim, three worker processes), faults one of its processes
// the way an operator or a crash would, and ends with endChecks. The tests are sequential: each
// one loads both cores of a 2-core machine with six processes.

// soakRounds multiplies the rounds of a check: RESURGE_SOAK_TRIALS, else 3 with RESURGE_SOAK=1,
// else 1.
func soakRounds() int { return faultcheck.SoakRounds(3) }

// testContext is a context for one step of a test, cancelled when the test ends.
func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// effects is what the platform recorded.
func effects(t *testing.T, top *Topology) []sim.Effect {
	t.Helper()
	es, _, err := top.SimAdmin.Effects(testContext(t, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func setFaults(t *testing.T, top *Topology, f sim.Faults) {
	t.Helper()
	if err := top.SimAdmin.SetFaults(testContext(t, time.Minute), f); err != nil {
		t.Fatal(err)
	}
}

// waitSuccess waits until every post has a successful record and returns the statuses.
func waitSuccess(t *testing.T, top *Topology, d time.Duration, what string, ids []string) map[string]workflows.PostStatus {
	t.Helper()
	return faultcheck.WaitPosts(t, top.Client, d, what, ids,
		func(st workflows.PostStatus) bool { return faultcheck.HasStatus(st, domain.StatusSuccess) },
		func(id string) { dumpWorkflow(t, top, workflows.PostWorkflowID(id)) })
}

// dumpWorkflow logs a workflow's pending activities, to explain a timeout.
func dumpWorkflow(t *testing.T, top *Topology, id string) {
	desc, err := top.Client.DescribeWorkflowExecution(context.Background(), id, "")
	if err != nil {
		t.Logf("describe %s: %v", id, err)
		return
	}
	for _, a := range desc.PendingActivities {
		t.Logf("%s pending activity %s attempt %d state %s worker %s last failure %v", id, a.ActivityType.GetName(), a.Attempt, a.State, a.LastWorkerIdentity, a.LastFailure)
	}
}

// endChecks is how every check ends: every workflow is running or done (none failed,
// terminated or timed out: none lost), then the posts are stopped and every idempotency key
// has at most one effect on the platform, every effect has its success record in its post's
// log, and the platform token appears in no history and no process's log. It returns the
// number of effects checked.
func endChecks(t *testing.T, top *Topology, ids []string) int {
	t.Helper()
	checkNoneLost(t, top, ids)
	logs := faultcheck.StopPosts(t, top.Client, ids)
	n := faultcheck.CheckOneEffectPerRecord(t, effects(t, top), logs)
	checkToken(t, top)
	return n
}

// checkNoneLost: every post is running or completed, and no workflow of the namespace (posts,
// monitors, the arbiter, every run) failed, was terminated, timed out or was cancelled.
func checkNoneLost(t *testing.T, top *Topology, ids []string) {
	t.Helper()
	errs := faultcheck.Parallel(len(ids), 16, func(i int) error {
		desc, err := top.Client.DescribeWorkflowExecution(testContext(t, time.Minute), workflows.PostWorkflowID(ids[i]), "")
		if err != nil {
			return err
		}
		switch st := desc.WorkflowExecutionInfo.Status; st {
		case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED,
			enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
			return nil
		default:
			return fmt.Errorf("status %s", st)
		}
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("post %s: %v", ids[i], err)
		}
	}
	resp, err := top.Client.CountWorkflow(testContext(t, time.Minute), countRequest(
		"ExecutionStatus IN ('Failed', 'Terminated', 'TimedOut', 'Canceled')"))
	if err != nil {
		t.Fatalf("count lost workflows: %v", err)
	}
	if resp.Count > 0 {
		t.Errorf("%d workflows failed, were terminated, timed out or were cancelled", resp.Count)
	}
	resp, err = top.Client.CountWorkflow(testContext(t, time.Minute), countRequest(
		"WorkflowId = '"+workflows.ArbiterWorkflowID+"' AND ExecutionStatus = 'Running'"))
	if err != nil || resp.Count != 1 {
		t.Errorf("the arbiter is not running: %d running (%v)", resp.GetCount(), err)
	}
}

// checkToken: the platform token is in no workflow history of the namespace and no line any
// process of the topology wrote.
func checkToken(t *testing.T, top *Topology) {
	t.Helper()
	start := time.Now()
	scan, err := faultcheck.ScanHistories(testContext(t, 5*time.Minute), top.Client, top.Token)
	if err != nil {
		t.Errorf("token scan: %v", err)
		return
	}
	if len(scan.Leaks) > 0 {
		t.Errorf("the platform token appears in %d history events, e.g. %v", len(scan.Leaks), scan.Leaks[:min(5, len(scan.Leaks))])
	}
	lines := 0
	for name, st := range top.LogStats() {
		lines += st.Lines
		if len(st.Leaks) > 0 {
			t.Errorf("the platform token appears in %s's log, e.g.:\n%s", name, strings.Join(st.Leaks, ""))
		}
		if strings.HasPrefix(name, "worker-") && st.Lines == 0 {
			t.Errorf("%s logged nothing: its log was not watched", name)
		}
	}
	t.Logf("token scan: %d executions, %d history events, %d log lines of %d processes in %s",
		scan.Workflows, scan.Events, lines, len(top.LogStats()), time.Since(start).Round(time.Millisecond))
}

func countRequest(query string) *workflowservice.CountWorkflowExecutionsRequest {
	return &workflowservice.CountWorkflowExecutionsRequest{Query: query}
}
