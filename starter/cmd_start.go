package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"resurge/domain"
	"resurge/workflows"
)

const startHelp = `Starts one post workflow per post. Starting a post that is already watched is safe: the running
workflow is kept (its texts and configuration unchanged) and reported as "already watching".

One post, by flags:
  starter start --post p1 --agent a1 --comment "..." --edit "..." --thread "part 1" --thread "part 2"

Many posts, from a file (--file F, or --file - with --format for stdin). Every row is checked
before anything starts: if any row is bad, every bad row is printed with its line and field
and nothing starts (exit 2).
  CSV, with a header row:
    post_id,platform,agent,comment_text,edit_text,thread_texts[,window,min_samples,
    sample_interval,comment_cooldown,edit_cooldown,thread_cooldown,quote_cooldown,
    max_actions_per_window,horizon,approval_timeout,cadence,max_sample_interval]
    thread_texts holds the parts separated by " | "; an empty platform cell takes --platform and
    an empty configuration cell the flag's value.
  JSON: an array of {"post": {"id", "platform", "agent", "comment_text", "edit_text",
    "thread_texts": [...]}, "config": {"window": "90m", "min_samples": 3, ...}} (config optional).
The configuration flags set the configuration of every post the file does not override.
`

func runStart(ctx context.Context, e *env, args []string) error {
	fs := e.newFlagSet("start")
	var (
		post, platform, agent, comment, edit string
		threads                              stringList
		file, format                         string
		concurrency, progressEvery           int
	)
	cfg := domain.DefaultConfig()
	fs.StringVar(&post, "post", "", "`ID` of the post to watch")
	fs.StringVar(&platform, "platform", domain.PlatformSim, "`platform` of the post: sim, mastodon or bluesky (with --file: of rows that leave it empty)")
	fs.StringVar(&agent, "agent", "", "`ID` of the agent: the account the automation acts as")
	fs.StringVar(&comment, "comment", "", "`text` of the tier 1 action, a comment")
	fs.StringVar(&edit, "edit", "", "`text` of the tier 2 action: the post's new text (on Bluesky, which cannot edit: the text of a quote post)")
	fs.Var(&threads, "thread", "`text` of one part of the tier 3 action, a thread (repeat once per part)")
	durationVar(fs, &cfg.Window, "window", "evaluation window")
	fs.IntVar(&cfg.MinSamples, "min-samples", cfg.MinSamples, "samples inside the window needed to plan")
	durationVar(fs, &cfg.SampleInterval, "sample-interval", "time between two metric samples")
	durationVar(fs, &cfg.CommentCooldown, "comment-cooldown", "minimum time between two comments")
	durationVar(fs, &cfg.EditCooldown, "edit-cooldown", "minimum time between two edits")
	durationVar(fs, &cfg.ThreadCooldown, "thread-cooldown", "minimum time between two threads")
	durationVar(fs, &cfg.QuoteCooldown, "quote-cooldown", "minimum time between two quotes (Bluesky's tier 2)")
	fs.IntVar(&cfg.MaxActionsPerWindow, "max-actions", cfg.MaxActionsPerWindow, "maximum actions per window")
	durationVar(fs, &cfg.Horizon, "horizon", "how long the post is watched")
	durationVar(fs, &cfg.ApprovalTimeout, "approval-timeout", "how long an action waits for a person's approval before it expires (never past the horizon)")
	fs.StringVar(&cfg.Cadence, "cadence", cfg.Cadence, "`mode` of the sampling: adaptive (dense while young, just acted or moving; sparser while stable) or fixed (every --sample-interval)")
	durationVar(fs, &cfg.MaxSampleInterval, "max-sample-interval", "the sparsest interval of the adaptive cadence (0: the longest that keeps --min-samples in the window)")
	fs.StringVar(&file, "file", "", "start every post of file `F` (CSV or JSON; - for stdin)")
	fs.StringVar(&format, "format", "", "`format` of --file: csv or json (default: from the extension)")
	fs.IntVar(&concurrency, "concurrency", 8, "posts of a file started at the same time (1-64)")
	fs.IntVar(&progressEvery, "progress-every", 100, "with --file, print a progress line on stderr every `N` posts (0: never)")
	if _, err := e.parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	if concurrency < 1 || concurrency > 64 {
		return usageErrorf("start: --concurrency must be between 1 and 64, got %d", concurrency)
	}
	set := flagsSet(fs)

	var items []startItem
	if file != "" {
		for _, name := range []string{"post", "agent", "comment", "edit", "thread"} {
			if set[name] {
				return usageErrorf("start: --file and --%s cannot be used together (the file gives every post's fields)", name)
			}
		}
		var err error
		if items, err = e.loadStartFile(ctx, file, format, batchDefaults{Platform: platform, Config: cfg}); err != nil {
			return err
		}
	} else {
		if set["format"] {
			return usageErrorf("start: --format needs --file")
		}
		if post == "" {
			return usageErrorf("start: --post is required (or --file to start many posts)")
		}
		id, err := e.normalizePostID(ctx, "post.id", platform, post)
		if err != nil {
			if field, reason := splitFieldError(err); field != "" {
				return usageErrorf("start: %s: %s", flagForField(field), reason)
			}
			return fmt.Errorf("start: %w", err)
		}
		in := workflows.PostInput{
			Post:   domain.Post{ID: id, Platform: platform, Agent: agent, CommentText: comment, EditText: edit, ThreadTexts: threads},
			Config: cfg,
		}
		if err := validateInput(in); err != nil {
			if field, reason := splitFieldError(err); field != "" {
				return usageErrorf("start: %s: %s", flagForField(field), reason)
			}
			return usageErrorf("start: %v", err)
		}
		items = []startItem{{Input: in}}
	}

	c, err := e.client(ctx)
	if err != nil {
		return err
	}
	if file == "" {
		return e.reportSingleStart(startOne(ctx, c, items[0], e.opts.timeout))
	}
	progress := func(s *startSummary) {
		if progressEvery > 0 && s.done()%progressEvery == 0 && s.done() < s.Total {
			fmt.Fprintf(e.stderr, "progress %d/%d: started %d, already watching %d, failed %d\n",
				s.done(), s.Total, s.Started, s.Existing, s.Failed)
		}
	}
	summary := startAll(ctx, c, items, concurrency, e.opts.timeout, progress)
	summary.File = file
	return e.reportBatchStart(summary)
}

// loadStartFile reads, decodes and validates a start file. Any bad row: print them all and
// fail with a usage error, having started nothing.
func (e *env) loadStartFile(ctx context.Context, path, format string, def batchDefaults) ([]startItem, error) {
	if path == "-" && format == "" {
		return nil, usageErrorf("start: --file - (stdin) needs --format csv or --format json")
	}
	fmtName, err := detectFormat(path, format)
	if err != nil {
		return nil, err
	}
	var data []byte
	if path == "-" {
		data, err = readLimited(e.stdin, maxFileBytes, "stdin")
	} else {
		var f *os.File
		if f, err = os.Open(path); err != nil {
			return nil, asUsage(fmt.Errorf("start: %w", err))
		}
		data, err = readLimited(f, maxFileBytes, path)
		f.Close()
	}
	if err != nil {
		return nil, err
	}
	def.normalize = func(field, platformName, id string) (string, error) {
		return e.normalizePostID(ctx, field, platformName, id)
	}
	items, bad := decodeBatch(data, fmtName, def)
	if len(bad) == 0 {
		return items, nil
	}
	for _, b := range bad {
		fmt.Fprintf(e.stderr, "%s: %s\n", path, b)
	}
	if e.opts.json {
		if err := printJSON(e.stdout, struct {
			File    string     `json:"file"`
			Started int        `json:"started"`
			Invalid []rowError `json:"invalid"`
		}{path, 0, bad}); err != nil {
			return nil, err
		}
	}
	return nil, usageErrorf("%s: %d invalid %s; nothing was started", path, len(bad), plural(len(bad), "row", "rows"))
}

// Results of starting one post.
const (
	resultStarted  = "started"
	resultExisting = "already_watching"
	resultFailed   = "failed"
	resultSkipped  = "skipped"
)

// startResult is the outcome of starting one post.
type startResult struct {
	PostID     string `json:"post_id"`
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id,omitempty"`
	Result     string `json:"result"`
	Error      string `json:"error,omitempty"`
	Line       int    `json:"line,omitempty"`
	Entry      *int   `json:"entry,omitempty"`
}

// startSummary counts a batch's results.
type startSummary struct {
	File     string        `json:"file,omitempty"`
	Total    int           `json:"total"`
	Started  int           `json:"started"`
	Existing int           `json:"already_watching"`
	Failed   int           `json:"failed"`
	Skipped  int           `json:"skipped"`
	Results  []startResult `json:"results"`
}

func (s *startSummary) done() int { return s.Started + s.Existing + s.Failed }

func (s *startSummary) count(r startResult) {
	switch r.Result {
	case resultStarted:
		s.Started++
	case resultExisting:
		s.Existing++
	case resultFailed:
		s.Failed++
	default:
		s.Skipped++
	}
}

// startOne starts one post. It describes the workflow first: if the run StartPost returns is
// the run that was already running, the post was already watched.
func startOne(ctx context.Context, c client.Client, it startItem, timeout time.Duration) startResult {
	in := it.Input
	r := startResult{PostID: in.Post.ID, WorkflowID: workflows.PostWorkflowID(in.Post.ID), Line: it.Line, Entry: it.Entry}
	fail := func(err error) startResult {
		r.Result, r.Error = resultFailed, oneLine(describeServerError(r.PostID, r.WorkflowID, err).Error())
		return r
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	running := ""
	desc, err := c.DescribeWorkflowExecution(ctx, r.WorkflowID, "")
	switch {
	case err == nil:
		if info := desc.GetWorkflowExecutionInfo(); info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			running = info.GetExecution().GetRunId()
		}
	case isNotFound(err):
	default:
		return fail(err)
	}
	run, err := workflows.StartPost(ctx, c, in)
	if err != nil {
		return fail(err)
	}
	r.RunID = run.GetRunID()
	r.Result = resultStarted
	if running != "" && r.RunID == running {
		r.Result = resultExisting
	}
	return r
}

// startAll starts items with at most workers calls in flight, calling progress after each
// result (from one goroutine). Items not attempted because ctx ended are "skipped".
func startAll(ctx context.Context, c client.Client, items []startItem, workers int, timeout time.Duration, progress func(*startSummary)) startSummary {
	s := startSummary{Total: len(items)}
	results := make([]startResult, len(items))
	jobs := make(chan int)
	done := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(items)) {
		wg.Go(func() {
			for i := range jobs {
				if ctx.Err() == nil { // else left empty: skipped
					results[i] = startOne(ctx, c, items[i], timeout)
				}
				done <- i
			}
		})
	}
	go func() {
		defer close(jobs)
		for i := range items {
			if ctx.Err() != nil {
				return
			}
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		wg.Wait()
		close(done)
	}()
	for i := range done {
		if results[i].Result == "" {
			continue // counted as skipped below
		}
		s.count(results[i])
		if progress != nil {
			progress(&s)
		}
	}
	for i := range results {
		if results[i].Result == "" {
			it := items[i]
			results[i] = startResult{PostID: it.Input.Post.ID, WorkflowID: workflows.PostWorkflowID(it.Input.Post.ID),
				Result: resultSkipped, Error: "not attempted: interrupted", Line: it.Line, Entry: it.Entry}
			s.Skipped++
		}
	}
	s.Results = results
	return s
}

func (e *env) reportSingleStart(r startResult) error {
	if e.opts.json {
		if err := printJSON(e.stdout, r); err != nil {
			return err
		}
	}
	switch r.Result {
	case resultStarted:
		if !e.opts.json {
			fmt.Fprintf(e.stdout, "started: post %s is watched by workflow %s (run %s)\n", r.PostID, r.WorkflowID, r.RunID)
		}
		return nil
	case resultExisting:
		if !e.opts.json {
			fmt.Fprintf(e.stdout, "already watching: post %s, workflow %s (run %s) kept as it was\n", r.PostID, r.WorkflowID, r.RunID)
		}
		return nil
	}
	return fmt.Errorf("%s", r.Error)
}

func (e *env) reportBatchStart(s startSummary) error {
	for _, r := range s.Results {
		if r.Result == resultFailed {
			fmt.Fprintf(e.stderr, "failed: %s: post %s: %s\n", origin(r.Line, r.Entry), r.PostID, r.Error)
		}
	}
	if s.Skipped > 0 {
		fmt.Fprintf(e.stderr, "skipped: %d %s not attempted (interrupted); starting the same file again starts them "+
			"and reports the others as already watching\n", s.Skipped, plural(s.Skipped, "post was", "posts were"))
	}
	if e.opts.json {
		if err := printJSON(e.stdout, s); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(e.stdout, "%d %s from %s: started %d, already watching %d, failed %d",
			s.Total, plural(s.Total, "post", "posts"), s.File, s.Started, s.Existing, s.Failed)
		if s.Skipped > 0 {
			fmt.Fprintf(e.stdout, ", skipped %d", s.Skipped)
		}
		fmt.Fprintln(e.stdout)
	}
	if bad := s.Failed + s.Skipped; bad > 0 {
		return fmt.Errorf("%d of %d posts were not started (see above)", bad, s.Total)
	}
	return nil
}

// flagForField names the start flag a validation error is about ("post.comment_text" ->
// "--comment", "post.thread_texts[1]" -> "--thread (part 2)").
func flagForField(field string) string {
	names := map[string]string{
		"post.id":                       "--post",
		"post.platform":                 "--platform",
		"post.agent":                    "--agent",
		"post.comment_text":             "--comment",
		"post.edit_text":                "--edit",
		"post.thread_texts":             "--thread",
		"config.window":                 "--window",
		"config.min_samples":            "--min-samples",
		"config.sample_interval":        "--sample-interval",
		"config.comment_cooldown":       "--comment-cooldown",
		"config.edit_cooldown":          "--edit-cooldown",
		"config.thread_cooldown":        "--thread-cooldown",
		"config.quote_cooldown":         "--quote-cooldown",
		"config.max_actions_per_window": "--max-actions",
		"config.horizon":                "--horizon",
		"config.approval_timeout":       "--approval-timeout",
		"config.cadence":                "--cadence",
		"config.max_sample_interval":    "--max-sample-interval",
	}
	if f, ok := names[field]; ok {
		return f
	}
	if rest, ok := strings.CutPrefix(field, "post.thread_texts["); ok {
		if n, err := strconv.Atoi(strings.TrimSuffix(rest, "]")); err == nil {
			return fmt.Sprintf("--thread (part %d)", n+1)
		}
	}
	return field
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
