package main

import (
	"context"
	"fmt"
	"os"

	"resurge/workflows"
)

const stopHelp = `Signals the post's workflow to stop watching: it finishes the step it is in, records the
reason and operator, and completes. Stopping a workflow that is no longer running fails (exit 1).
`

func runStop(ctx context.Context, e *env, args []string) error {
	fs := e.newFlagSet("stop")
	var req workflows.StopRequest
	fs.StringVar(&req.Reason, "reason", "", "why the post stops being watched")
	fs.StringVar(&req.Operator, "operator", os.Getenv("USER"), "who stops it (default: $USER)")
	pos, err := e.parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	postID, err := e.postIDArg(ctx, "stop", pos[0])
	if err != nil {
		return err
	}
	c, err := e.client(ctx)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, e.opts.timeout)
	defer cancel()
	wid := workflows.PostWorkflowID(postID)
	if err := workflows.StopPost(sctx, c, postID, req); err != nil {
		return describeServerError(postID, wid, err)
	}
	if e.opts.json {
		return printJSON(e.stdout, struct {
			OK         bool   `json:"ok"`
			PostID     string `json:"post_id"`
			WorkflowID string `json:"workflow_id"`
			Reason     string `json:"reason,omitempty"`
			Operator   string `json:"operator,omitempty"`
		}{true, postID, wid, req.Reason, req.Operator})
	}
	fmt.Fprintf(e.stdout, "ok: asked workflow %s (post %s) to stop\n", wid, postID)
	return nil
}
