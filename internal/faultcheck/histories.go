package faultcheck

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	"resurge/domain"
	"resurge/workflows"
)

// Execution is one workflow run.
type Execution struct{ ID, Run string }

// ListExecutions lists every execution in the client's namespace (visibility, all pages).
func ListExecutions(ctx context.Context, c client.Client) ([]Execution, error) {
	var out []Execution
	var page []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{PageSize: 1000, NextPageToken: page})
		if err != nil {
			return out, fmt.Errorf("list workflows: %w", err)
		}
		for _, e := range resp.Executions {
			out = append(out, Execution{ID: e.Execution.WorkflowId, Run: e.Execution.RunId})
		}
		if page = resp.NextPageToken; len(page) == 0 {
			return out, nil
		}
	}
}

// HistoryScan is what scanning a namespace's histories found.
type HistoryScan struct {
	Workflows, Events int
	// Leaks are the events that carry the token: "<workflow>/<run> event <id> <type>".
	Leaks []string
	// Redacted counts events that carry the adapters' redaction marker.
	Redacted int
}

// ScanHistories reads every history of every workflow execution (open or closed, every run)
// in the client's namespace and looks for token in the events' bytes: payloads (inputs,
// results, signals, update arguments, memo, search attributes) and failure messages are
// stored verbatim there.
func ScanHistories(ctx context.Context, c client.Client, token string) (HistoryScan, error) {
	var scan HistoryScan
	execs, err := ListExecutions(ctx, c)
	if err != nil {
		return scan, err
	}
	for _, e := range execs {
		scan.Workflows++
		iter := c.GetWorkflowHistory(ctx, e.ID, e.Run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			ev, err := iter.Next()
			if err != nil {
				return scan, fmt.Errorf("history of %s/%s: %w", e.ID, e.Run, err)
			}
			scan.Events++
			b, err := proto.Marshal(ev)
			if err != nil {
				return scan, err
			}
			if bytes.Contains(b, []byte(token)) {
				scan.Leaks = append(scan.Leaks, fmt.Sprintf("%s/%s event %d %s", e.ID, e.Run, ev.EventId, ev.EventType))
			}
			if bytes.Contains(b, []byte(RedactionMarker)) {
				scan.Redacted++
			}
		}
	}
	return scan, nil
}

// Decision is one arbitration, as the arbiter's history recorded it.
type Decision struct {
	Key string
	domain.ArbitrationDecision
}

// RunHistories reads the events of every run of a workflow, following continue-as-new back
// from the latest run, oldest run first.
func RunHistories(ctx context.Context, c client.Client, id string) ([][]*historypb.HistoryEvent, error) {
	var runs [][]*historypb.HistoryEvent
	run := ""
	for {
		var events []*historypb.HistoryEvent
		iter := c.GetWorkflowHistory(ctx, id, run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			ev, err := iter.Next()
			if err != nil {
				return nil, err
			}
			events = append(events, ev)
		}
		runs = append(runs, events)
		prev := ""
		if len(events) > 0 {
			prev = events[0].GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
		}
		if prev == "" {
			break
		}
		run = prev
	}
	slices.Reverse(runs)
	return runs, nil
}

// ArbiterDecisions reads every arbitration the arbiter completed (single updates and batches' members), in every run (it
// continues as new), oldest first.
func ArbiterDecisions(ctx context.Context, c client.Client) ([]Decision, error) {
	runs, err := RunHistories(ctx, c, workflows.ArbiterWorkflowID)
	if err != nil {
		return nil, fmt.Errorf("arbiter history: %w", err)
	}
	var out []Decision
	for _, events := range runs {
		for _, ev := range events {
			ds, err := workflows.DecisionsIn(ev)
			if err != nil {
				return nil, err
			}
			for _, d := range ds {
				out = append(out, Decision{Key: d.Key(), ArbitrationDecision: d.ArbitrationDecision})
			}
		}
	}
	return out, nil
}
