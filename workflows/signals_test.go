package workflows

import (
	"testing"
	"time"

	sdkpb "go.temporal.io/api/sdk/v1"

	"resurge/activities"
	"resurge/domain"
)

// TestEveryInteractionHasADescription runs each workflow and reads its metadata query, as the
// Web UI's Send Signal dialog and `temporal workflow metadata` do: every signal, query and
// update is listed with a description, and the signals include at least these.
func TestEveryInteractionHasADescription(t *testing.T) {
	for _, c := range []struct {
		workflow any
		in       any
		signals  []string
		queries  []string
		updates  []string
	}{
		{PostWorkflow, PostInput{Post: testPost(), Config: domain.DefaultConfig()},
			[]string{SignalStop, SignalApprove, SignalReject, SignalAct}, []string{QueryStatus}, nil},
		{ArbiterWorkflow, ArbiterInput{}, []string{SignalLock, SignalReleaseLock, SignalAgentHealth, SignalSetPolicy},
			[]string{QueryArbiterState}, []string{UpdateArbitrate}},
		{MonitorWorkflow, MonitorInput{Agent: "a1"}, []string{SignalOutcome, SignalImpact}, []string{QueryMonitorStatus}, nil},
	} {
		md := workflowMetadata(t, c.workflow, c.in)
		name := md.GetDefinition().GetType()
		def := md.GetDefinition()
		checkDescribed(t, name, "signal", def.GetSignalDefinitions(), c.signals)
		checkDescribed(t, name, "query", def.GetQueryDefinitions(), c.queries)
		checkDescribed(t, name, "update", def.GetUpdateDefinitions(), c.updates)
	}
}

func checkDescribed(t *testing.T, workflow, kind string, defs []*sdkpb.WorkflowInteractionDefinition, want []string) {
	t.Helper()
	listed := map[string]bool{}
	for _, d := range defs {
		listed[d.GetName()] = true
		if d.GetDescription() == "" {
			t.Errorf("%s: %s %q has no description", workflow, kind, d.GetName())
		}
	}
	for _, n := range want {
		if !listed[n] {
			t.Errorf("%s: %s %q is not listed in the metadata (listed: %v)", workflow, kind, n, listed)
		}
	}
}

// workflowMetadata starts a workflow in the test environment and answers its metadata query a
// minute later.
func workflowMetadata(t *testing.T, wf, in any) *sdkpb.WorkflowMetadata {
	t.Helper()
	env := newTestEnv(testStart, nil)
	env.RegisterWorkflow(wf)
	env.RegisterActivity(&activities.Activities{Safety: &fakeSafety{}})
	var md sdkpb.WorkflowMetadata
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryWorkflowMetadata)
		if err != nil {
			t.Errorf("metadata query: %v", err)
		} else if err := v.Get(&md); err != nil {
			t.Errorf("decode metadata: %v", err)
		}
		env.CancelWorkflow()
	}, time.Minute)
	env.ExecuteWorkflow(wf, in)
	if md.GetDefinition() == nil {
		t.Fatal("no metadata answered")
	}
	return &md
}
