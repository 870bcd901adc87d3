package integration

import (
	"os"
	"path/filepath"
	"testing"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"resurge/workflows"
)

// envUpdateHistories, set to 1, makes the integration tests (re)write the committed histories
// that workflows/replay_test.go replays.
const envUpdateHistories = "RESURGE_UPDATE_HISTORIES"

// checkReplay fetches a workflow's history from the server, replays it against the current
// workflow code (a non-deterministic change fails here, on real histories), and, when asked,
// saves it as workflows/testdata/histories/<name>.json.
func checkReplay(t *testing.T, c client.Client, workflowID, name string) {
	t.Helper()
	checkReplayRun(t, c, workflowID, "", name)
}

// checkReplayRun is checkReplay for one run of the workflow ("": the latest).
func checkReplayRun(t *testing.T, c client.Client, workflowID, runID, name string) {
	t.Helper()
	iter := c.GetWorkflowHistory(t.Context(), workflowID, runID, false, 0)
	hist := &historypb.History{}
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", workflowID, err)
		}
		hist.Events = append(hist.Events, e)
	}
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflow(workflows.PostWorkflow)
	r.RegisterWorkflow(workflows.MonitorWorkflow)
	r.RegisterWorkflow(workflows.ArbiterWorkflow)
	if err := r.ReplayWorkflowHistory(nil, hist); err != nil {
		t.Fatalf("replay of %s (%d events): %v", workflowID, len(hist.Events), err)
	}
	if os.Getenv(envUpdateHistories) != "1" {
		return
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(hist)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "workflows", "testdata", "histories", name+".json")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d events)", path, len(hist.Events))
}
