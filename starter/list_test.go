package main

import (
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestBuildListQuery(t *testing.T) {
	tests := []struct {
		name string
		f    listFilter
		want string
	}{
		{"no filter", listFilter{}, "WorkflowType = 'PostWorkflow'"},
		{"agent and state", listFilter{Agent: "a1", State: "blocked"},
			"WorkflowType = 'PostWorkflow' AND ResurgeAgent = 'a1' AND ResurgeState = 'blocked'"},
		{"every filter", listFilter{Post: "p-9", Agent: "agent.7", State: "cooling_down", Tier: "tier_2", Status: "running"},
			"WorkflowType = 'PostWorkflow' AND ResurgePostID = 'p-9' AND ResurgeAgent = 'agent.7' AND ResurgeState = 'cooling_down' AND ResurgeTier = 'tier_2' AND ExecutionStatus = 'Running'"},
		{"tier as a number", listFilter{Tier: "3"}, "WorkflowType = 'PostWorkflow' AND ResurgeTier = 'tier_3'"},
		{"status in temporal's words", listFilter{Status: "ContinuedAsNew"}, "WorkflowType = 'PostWorkflow' AND ExecutionStatus = 'ContinuedAsNew'"},
		{"status in the CLI's words", listFilter{Status: "timed_out"}, "WorkflowType = 'PostWorkflow' AND ExecutionStatus = 'TimedOut'"},
		{"raw query alone", listFilter{Query: " StartTime > '2026-01-01T00:00:00Z' "}, "StartTime > '2026-01-01T00:00:00Z'"},
		{"raw query and filters", listFilter{Agent: "a1", Query: "WorkflowType = 'MonitorWorkflow' OR ResurgeTier = 'tier_3'"},
			"ResurgeAgent = 'a1' AND (WorkflowType = 'MonitorWorkflow' OR ResurgeTier = 'tier_3')"},
		{"unicode id", listFilter{Post: "пост-1"}, "WorkflowType = 'PostWorkflow' AND ResurgePostID = 'пост-1'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := buildListQuery(tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestBuildListQueryRefusesUnsafeValues(t *testing.T) {
	tests := []struct {
		name string
		f    listFilter
		sub  string
	}{
		{"single quote", listFilter{Agent: "a1' OR WorkflowType != '"}, "--agent"},
		{"quote without spaces", listFilter{Agent: "a1'OR'1'='1"}, "quote"},
		{"double quote", listFilter{Post: `p"1`}, "--post"},
		{"backslash", listFilter{Post: `p1\`}, "backslash"},
		{"backquote", listFilter{Agent: "a`1"}, "--agent"},
		{"space", listFilter{Agent: "a 1"}, "--agent"},
		{"control character", listFilter{Post: "p\x001"}, "--post"},
		{"too long", listFilter{Post: strings.Repeat("p", 201)}, "--post"},
		{"unknown state", listFilter{State: "sleeping"}, "--state"},
		{"state with a quote", listFilter{State: "blocked'"}, "--state"},
		{"unknown tier", listFilter{Tier: "tier_4"}, "--tier"},
		{"unknown status", listFilter{Status: "paused"}, "--status"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := buildListQuery(tc.f)
			if err == nil {
				t.Fatalf("accepted, query %s", q)
			}
			if !strings.Contains(err.Error(), tc.sub) {
				t.Errorf("error %q does not mention %q", err, tc.sub)
			}
		})
	}
}

func TestQuoteValue(t *testing.T) {
	if q, err := quoteValue("--agent", "a-1_b.c"); err != nil || q != "'a-1_b.c'" {
		t.Errorf("got %s, %v", q, err)
	}
	for _, v := range []string{"", "'", `"`, `\`, "a\nb", "a\x7f"} {
		if _, err := quoteValue("--agent", v); err == nil {
			t.Errorf("%q accepted", v)
		}
	}
}

func listed(t *testing.T, id, state, tier string, status enumspb.WorkflowExecutionStatus) *workflowpb.WorkflowExecutionInfo {
	t.Helper()
	fields := map[string]*commonpb.Payload{
		"ResurgePostID": keywordPayload(t, strings.TrimPrefix(id, "post/")),
		"ResurgeAgent":  keywordPayload(t, "a1"),
		"ResurgeState":  keywordPayload(t, state),
	}
	if tier != "" {
		fields["ResurgeTier"] = keywordPayload(t, tier)
		fields["ResurgeLastAction"] = keywordPayload(t, "thread:success")
	}
	return &workflowpb.WorkflowExecutionInfo{
		Execution:        &commonpb.WorkflowExecution{WorkflowId: id, RunId: "run-" + id},
		Type:             &commonpb.WorkflowType{Name: "PostWorkflow"},
		Status:           status,
		StartTime:        timestamppb.New(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)),
		SearchAttributes: &commonpb.SearchAttributes{IndexedFields: fields},
	}
}

func TestListPagesAndPrints(t *testing.T) {
	fc := newFakeClient()
	fc.pages = [][]*workflowpb.WorkflowExecutionInfo{
		{listed(t, "post/p1", "watching", "", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING), listed(t, "post/p2", "blocked", "tier_3", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING)},
		{listed(t, "post/p3", "done", "tier_1", enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED)},
	}
	te := newTestEnv(t, fc, "")
	if code := te.run("list", "--agent", "a1"); code != exitOK {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	out := te.stdout.String()
	for _, want := range []string{"WORKFLOW ID", "post/p1", "post/p3", "completed", "blocked", "tier_3", "thread:success", "2026-11-25 12:00:00Z"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if len(fc.queries) != 2 || fc.queries[0].Query != "WorkflowType = 'PostWorkflow' AND ResurgeAgent = 'a1'" {
		t.Errorf("queries %v", fc.queries)
	}

	// --limit stops paging and --json prints one document.
	fc.queries = nil
	te = newTestEnv(t, fc, "")
	if code := te.run("list", "--limit", "2", "--json"); code != exitOK {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	var doc struct {
		Query     string           `json:"query"`
		Count     int              `json:"count"`
		Workflows []listedWorkflow `json:"workflows"`
	}
	te.oneJSON(t, &doc)
	if doc.Count != 2 || len(doc.Workflows) != 2 || len(fc.queries) != 1 || fc.queries[0].PageSize != 2 {
		t.Fatalf("got %+v after %d calls", doc, len(fc.queries))
	}
	w := doc.Workflows[1]
	if w.WorkflowID != "post/p2" || w.Status != "running" || w.State != "blocked" || w.Tier != "tier_3" || w.PostID != "p2" || w.Agent != "a1" {
		t.Errorf("row %+v", w)
	}
}

func TestListEmpty(t *testing.T) {
	te := newTestEnv(t, newFakeClient(), "")
	if code := te.run("list", "--json"); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var doc map[string]any
	te.oneJSON(t, &doc)
	if doc["count"] != 0.0 || doc["workflows"] == nil {
		t.Errorf("empty list: %v (workflows must be [], not null)", doc)
	}
}

func TestListServerErrors(t *testing.T) {
	fc := newFakeClient()
	fc.listErr = serviceerror.NewInvalidArgument("invalid query: malformed SQL query")
	te := newTestEnv(t, fc, "")
	if code := te.run("list", "--query", "bogus (("); code != exitUsage {
		t.Errorf("query refused by the server: exit %d, want 2", code)
	}
	if line := te.errLine(t); !strings.Contains(line, "bogus ((") || !strings.Contains(line, "malformed") {
		t.Errorf("error line %q", line)
	}
	fc.listErr = serviceerror.NewUnavailable("frontend down")
	te = newTestEnv(t, fc, "")
	if code := te.run("list"); code != exitFailed {
		t.Errorf("server unavailable: exit %d, want 1", code)
	}
}
