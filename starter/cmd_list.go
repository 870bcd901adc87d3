package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"resurge/domain"
	"resurge/workflows"
)

const listHelp = `Lists post workflows through Temporal visibility and Resurge's search attributes. The
filters are ANDed, e.g. --agent a1 --state blocked builds
  WorkflowType = 'PostWorkflow' AND ResurgeAgent = 'a1' AND ResurgeState = 'blocked'
--query adds a raw visibility query (in parentheses) and drops the WorkflowType clause.
`

// postWorkflowType is the registered name of workflows.PostWorkflow.
const postWorkflowType = "PostWorkflow"

// listFilter holds the list command's filters.
type listFilter struct {
	Post, Agent, State, Tier, Status, Query string
}

// executionStatuses maps the --status values to visibility's ExecutionStatus values.
var executionStatuses = []struct{ flag, query string }{
	{"running", "Running"},
	{"completed", "Completed"},
	{"failed", "Failed"},
	{"canceled", "Canceled"},
	{"terminated", "Terminated"},
	{"continued_as_new", "ContinuedAsNew"},
	{"timed_out", "TimedOut"},
}

var postStates = []string{workflows.StateWatching, workflows.StateCoolingDown, workflows.StateActing, workflows.StateBlocked,
	workflows.StateAwaitingApproval, workflows.StateDone}

// buildListQuery builds the visibility query for f. Values are checked against what the
// attributes can hold and quoted; a value containing a quote or backslash is refused rather
// than escaped, so that no input can change the query's structure.
func buildListQuery(f listFilter) (string, error) {
	var clauses []string
	add := func(attr, flagName, value string) error {
		q, err := quoteValue(flagName, value)
		if err != nil {
			return err
		}
		clauses = append(clauses, attr+" = "+q)
		return nil
	}
	if strings.TrimSpace(f.Query) == "" {
		clauses = append(clauses, "WorkflowType = '"+postWorkflowType+"'")
	}
	if f.Post != "" {
		if err := domain.ValidateID("--post", f.Post); err != nil {
			return "", err
		}
		if err := add(workflows.SearchAttrPostID, "--post", f.Post); err != nil {
			return "", err
		}
	}
	if f.Agent != "" {
		if err := domain.ValidateID("--agent", f.Agent); err != nil {
			return "", err
		}
		if err := add(workflows.SearchAttrAgent, "--agent", f.Agent); err != nil {
			return "", err
		}
	}
	if f.State != "" {
		if !contains(postStates, f.State) {
			return "", fmt.Errorf("--state: want one of %s, got %q", strings.Join(postStates, ", "), f.State)
		}
		if err := add(workflows.SearchAttrState, "--state", f.State); err != nil {
			return "", err
		}
	}
	if f.Tier != "" {
		tier := domain.Tier(f.Tier)
		if !strings.HasPrefix(f.Tier, "tier_") {
			tier = domain.Tier("tier_" + f.Tier) // "--tier 3" means tier_3
		}
		if !tier.Valid() {
			return "", fmt.Errorf("--tier: want tier_1, tier_2 or tier_3 (or 1, 2, 3), got %q", f.Tier)
		}
		if err := add(workflows.SearchAttrTier, "--tier", string(tier)); err != nil {
			return "", err
		}
	}
	if f.Status != "" {
		status := ""
		var names []string
		for _, s := range executionStatuses {
			names = append(names, s.flag)
			if strings.EqualFold(f.Status, s.flag) || strings.EqualFold(f.Status, s.query) {
				status = s.query
			}
		}
		if status == "" {
			return "", fmt.Errorf("--status: want one of %s, got %q", strings.Join(names, ", "), f.Status)
		}
		if err := add("ExecutionStatus", "--status", status); err != nil {
			return "", err
		}
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		if len(clauses) == 0 {
			return q, nil
		}
		clauses = append(clauses, "("+q+")")
	}
	return strings.Join(clauses, " AND "), nil
}

// quoteValue quotes a value for a visibility query. Quotes, backslashes and control
// characters are refused: IDs and states never contain them.
func quoteValue(flagName, v string) (string, error) {
	if v == "" {
		return "", fmt.Errorf("%s: must not be empty", flagName)
	}
	for _, r := range v {
		if r == '\'' || r == '"' || r == '\\' || r == '`' || r < 0x20 || r == 0x7f {
			return "", fmt.Errorf("%s: %q contains a quote, backslash or control character, which a filter value may not", flagName, v)
		}
	}
	return "'" + v + "'", nil
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// listedWorkflow is one row of the list.
type listedWorkflow struct {
	WorkflowID string     `json:"workflow_id"`
	RunID      string     `json:"run_id"`
	Type       string     `json:"workflow_type"`
	Status     string     `json:"status"`
	PostID     string     `json:"post_id,omitempty"`
	Agent      string     `json:"agent,omitempty"`
	State      string     `json:"state,omitempty"`
	Tier       string     `json:"tier,omitempty"`
	LastAction string     `json:"last_action,omitempty"`
	StartTime  time.Time  `json:"start_time"`
	CloseTime  *time.Time `json:"close_time,omitempty"`
}

func runList(ctx context.Context, e *env, args []string) error {
	fs := e.newFlagSet("list")
	var f listFilter
	var limit int
	fs.StringVar(&f.Post, "post", "", "only the workflow of post `ID`")
	fs.StringVar(&f.Agent, "agent", "", "only posts of agent `ID`")
	fs.StringVar(&f.State, "state", "", "only posts in `state` "+strings.Join(postStates, ", "))
	fs.StringVar(&f.Tier, "tier", "", "only posts whose last tier is `tier` (tier_1, tier_2, tier_3)")
	fs.StringVar(&f.Status, "status", "", "only workflows with execution `status` (running, completed, failed, ...)")
	fs.StringVar(&f.Query, "query", "", "raw visibility `query`, ANDed with the other filters (drops the WorkflowType filter)")
	fs.IntVar(&limit, "limit", 100, "list at most `N` workflows")
	if _, err := e.parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	if limit < 1 {
		return usageErrorf("list: --limit must be at least 1, got %d", limit)
	}
	query, err := buildListQuery(f)
	if err != nil {
		return asUsage(fmt.Errorf("list: %w", err))
	}
	c, err := e.client(ctx)
	if err != nil {
		return err
	}
	rows, more, err := e.listWorkflows(ctx, c, query, limit)
	if err != nil {
		return err
	}
	if e.opts.json {
		return printJSON(e.stdout, struct {
			Query     string           `json:"query"`
			Count     int              `json:"count"`
			Workflows []listedWorkflow `json:"workflows"`
		}{query, len(rows), append([]listedWorkflow{}, rows...)})
	}
	printList(e.stdout, rows)
	if more {
		fmt.Fprintf(e.stderr, "(the first %d shown; raise --limit for more)\n", limit)
	}
	return nil
}

// listWorkflows runs a visibility query, page by page, for at most limit workflows; more says
// that there were more. A query the server refuses is a usage error.
func (e *env) listWorkflows(ctx context.Context, c client.Client, query string, limit int) (rows []listedWorkflow, more bool, err error) {
	var token []byte
	for len(rows) < limit {
		lctx, cancel := context.WithTimeout(ctx, e.opts.timeout)
		resp, err := c.ListWorkflow(lctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query:         query,
			PageSize:      int32(min(limit-len(rows), 1000)),
			NextPageToken: token,
		})
		cancel()
		if err != nil {
			err = fmt.Errorf("list (query %s): %w", query, err)
			var invalid *serviceerror.InvalidArgument
			if errors.As(err, &invalid) {
				return nil, false, asUsage(err) // the server refused the query itself
			}
			return nil, false, err
		}
		for _, ex := range resp.GetExecutions() {
			if len(rows) == limit {
				break
			}
			rows = append(rows, toListed(ex))
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	return rows, len(rows) == limit && len(token) > 0, nil
}

func printList(w io.Writer, rows []listedWorkflow) {
	if len(rows) == 0 {
		fmt.Fprintln(w, "no workflows")
		return
	}
	t := newTable(w, "", "WORKFLOW ID", "STATUS", "STATE", "TIER", "LAST ACTION", "AGENT", "STARTED")
	for _, r := range rows {
		t.row("", r.WorkflowID, r.Status, r.State, r.Tier, r.LastAction, r.Agent, timestamp(r.StartTime))
	}
	t.flush()
}

func toListed(ex *workflowpb.WorkflowExecutionInfo) listedWorkflow {
	r := listedWorkflow{
		WorkflowID: ex.GetExecution().GetWorkflowId(),
		RunID:      ex.GetExecution().GetRunId(),
		Type:       ex.GetType().GetName(),
		Status:     statusName(ex.GetStatus()),
	}
	fields := ex.GetSearchAttributes().GetIndexedFields()
	r.PostID = keyword(fields, workflows.SearchAttrPostID)
	r.Agent = keyword(fields, workflows.SearchAttrAgent)
	r.State = keyword(fields, workflows.SearchAttrState)
	r.Tier = keyword(fields, workflows.SearchAttrTier)
	r.LastAction = keyword(fields, workflows.SearchAttrLastAction)
	if t := ex.GetStartTime(); t != nil {
		r.StartTime = t.AsTime()
	}
	if t := ex.GetCloseTime(); t != nil {
		ct := t.AsTime()
		r.CloseTime = &ct
	}
	return r
}

// keyword decodes a Keyword search attribute ("" when absent or unreadable).
func keyword(fields map[string]*commonpb.Payload, name string) string {
	p, ok := fields[name]
	if !ok || p == nil {
		return ""
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err != nil {
		return ""
	}
	return s
}

// statusName is the execution status in the CLI's words: running, completed, ...
func statusName(s enumspb.WorkflowExecutionStatus) string {
	switch s {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return "running"
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return "completed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		return "failed"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return "canceled"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return "terminated"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
		return "continued_as_new"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return "timed_out"
	}
	return "unknown"
}
