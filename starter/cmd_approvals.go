package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"go.temporal.io/sdk/client"

	"resurge/domain"
	"resurge/workflows"
)

const approvalsHelp = `Lists the posts whose action awaits a person's approval: a visibility query on the search
attribute (ResurgeState = 'awaiting_approval', running workflows only, --agent to narrow it),
then each post's status query for what it waits for: the action and tier, its texts, why the
arbiter asks for a person, since when and until when it waits, and the commands that approve
or reject it. Visibility lags a moment behind the workflows: a post that was answered meanwhile
is left out.
`

// pendingItem is one post awaiting approval in approvals' --json output.
type pendingItem struct {
	PostID     string                  `json:"post_id"`
	WorkflowID string                  `json:"workflow_id"`
	Agent      string                  `json:"agent"`
	Pending    *domain.PendingApproval `json:"pending_approval,omitempty"`
	Error      string                  `json:"error,omitempty"`
}

func runApprovals(ctx context.Context, e *env, args []string) error {
	fs := e.newFlagSet("approvals")
	f := listFilter{State: workflows.StateAwaitingApproval, Status: "running"}
	var limit int
	fs.StringVar(&f.Agent, "agent", "", "only posts of agent `ID`")
	fs.IntVar(&limit, "limit", 100, "list at most `N` posts")
	if _, err := e.parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	if limit < 1 {
		return usageErrorf("approvals: --limit must be at least 1, got %d", limit)
	}
	query, err := buildListQuery(f)
	if err != nil {
		return asUsage(fmt.Errorf("approvals: %w", err))
	}
	c, err := e.client(ctx)
	if err != nil {
		return err
	}
	rows, more, err := e.listWorkflows(ctx, c, query, limit)
	if err != nil {
		return fmt.Errorf("approvals: %w", err)
	}
	items := pendingItems(ctx, e, c, rows)
	if e.opts.json {
		return printJSON(e.stdout, struct {
			Query     string        `json:"query"`
			Count     int           `json:"count"`
			Approvals []pendingItem `json:"approvals"`
		}{query, len(items), items})
	}
	printApprovals(e.stdout, items, e.now())
	if more {
		fmt.Fprintf(e.stderr, "(the first %d shown; raise --limit for more)\n", limit)
	}
	return nil
}

// pendingItems asks each listed post what it waits for, leaving out those no longer waiting.
func pendingItems(ctx context.Context, e *env, c client.Client, rows []listedWorkflow) []pendingItem {
	items := []pendingItem{}
	for _, r := range rows {
		it := pendingItem{PostID: r.PostID, WorkflowID: r.WorkflowID, Agent: r.Agent}
		st, err := postStatusWithin(ctx, c, r.PostID, e.opts.timeout)
		switch {
		case err != nil:
			it.Error = describeServerError(r.PostID, r.WorkflowID, err).Error()
		case st.PendingApproval == nil:
			continue // answered or expired since visibility saw it
		default:
			it.Pending = st.PendingApproval
		}
		items = append(items, it)
	}
	return items
}

func printApprovals(w io.Writer, items []pendingItem, now time.Time) {
	if len(items) == 0 {
		fmt.Fprintln(w, "nothing awaits approval")
		return
	}
	fmt.Fprintf(w, "%d %s approval:\n", len(items), plural(len(items), "post awaits", "posts await"))
	for _, it := range items {
		fmt.Fprintf(w, "\npost %s (agent %s, workflow %s)\n", it.PostID, it.Agent, it.WorkflowID)
		if it.Pending == nil {
			fmt.Fprintf(w, "  could not read its status: %s\n", it.Error)
			continue
		}
		printPending(w, "  ", *it.Pending, now)
	}
}
