package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

// fakeClient implements the few client calls the starter makes; any other call panics (the
// embedded interface is nil), which a test would notice.
type fakeClient struct {
	client.Client

	mu sync.Mutex
	// running maps workflow IDs to the run ID of a running execution.
	running map[string]string
	// failStart makes ExecuteWorkflow fail for these workflow IDs.
	failStart map[string]error
	started   []client.StartWorkflowOptions
	described int
	signals   []string
	status    any   // the status query's answer
	queryErr  error // the status query's error
	pages     [][]*workflowpb.WorkflowExecutionInfo
	queries   []*workflowservice.ListWorkflowExecutionsRequest
	listErr   error // ListWorkflow's error
	runSeq    int

	// sent records every SignalWorkflow and SignalWithStartWorkflow call, in order.
	sent []sentSignal
	// answers are canned query answers by "<workflow ID> <query type>": each query takes the
	// first one, the last one keeps answering. They win over status / queryErr.
	answers map[string][]any
	// queryErrs fails every query to these workflow IDs.
	queryErrs map[string]error
	// queried counts the queries by "<workflow ID> <query type>".
	queried map[string]int
}

// sentSignal is one signal the starter sent.
type sentSignal struct {
	WithStart  bool
	WorkflowID string
	Name       string
	Arg        json.RawMessage
	// Start is the start options of a SignalWithStartWorkflow call.
	Start client.StartWorkflowOptions
}

func newFakeClient() *fakeClient {
	return &fakeClient{running: map[string]string{}, failStart: map[string]error{},
		answers: map[string][]any{}, queryErrs: map[string]error{}, queried: map[string]int{}}
}

func (f *fakeClient) Close() {}

func (f *fakeClient) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.described++
	run, ok := f.running[id]
	if !ok {
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + id)
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Execution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: run},
		Status:    enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
	}}, nil
}

func (f *fakeClient) ExecuteWorkflow(_ context.Context, opts client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failStart[opts.ID]; err != nil {
		return nil, err
	}
	f.started = append(f.started, opts)
	run, ok := f.running[opts.ID]
	if !ok || opts.WorkflowIDConflictPolicy != enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING {
		f.runSeq++
		run = fmt.Sprintf("run-%d", f.runSeq)
		f.running[opts.ID] = run
	}
	return fakeRun{id: opts.ID, run: run}, nil
}

func (f *fakeClient) QueryWorkflow(_ context.Context, id, _ string, queryType string, _ ...any) (converter.EncodedValue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := id + " " + queryType
	f.queried[key]++
	if err := f.queryErrs[id]; err != nil {
		return nil, err
	}
	if seq := f.answers[key]; len(seq) > 0 {
		v := seq[0]
		if len(seq) > 1 {
			f.answers[key] = seq[1:]
		}
		data, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		return jsonValue(data), nil
	}
	if f.queryErr != nil {
		return nil, f.queryErr
	}
	if queryType != "status" {
		return nil, fmt.Errorf("unexpected query %q", queryType)
	}
	data, err := json.Marshal(f.status)
	if err != nil {
		return nil, err
	}
	return jsonValue(data), nil
}

func (f *fakeClient) SignalWorkflow(_ context.Context, id, _ string, name string, arg any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.running[id]; !ok {
		return serviceerror.NewNotFound("workflow execution already completed")
	}
	data, _ := json.Marshal(arg)
	f.signals = append(f.signals, id+" "+name+" "+string(data))
	f.sent = append(f.sent, sentSignal{WorkflowID: id, Name: name, Arg: data})
	return nil
}

func (f *fakeClient) SignalWithStartWorkflow(_ context.Context, id, name string, arg any, opts client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.failStart[id]; err != nil {
		return nil, err
	}
	run, ok := f.running[id]
	if !ok {
		f.runSeq++
		run = fmt.Sprintf("run-%d", f.runSeq)
		f.running[id] = run
	}
	data, _ := json.Marshal(arg)
	f.sent = append(f.sent, sentSignal{WithStart: true, WorkflowID: id, Name: name, Arg: data, Start: opts})
	return fakeRun{id: id, run: run}, nil
}

func (f *fakeClient) ListWorkflow(_ context.Context, req *workflowservice.ListWorkflowExecutionsRequest) (*workflowservice.ListWorkflowExecutionsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, req)
	if f.listErr != nil {
		return nil, f.listErr
	}
	page := 0
	if len(req.NextPageToken) > 0 {
		fmt.Sscanf(string(req.NextPageToken), "%d", &page)
	}
	if page >= len(f.pages) {
		return &workflowservice.ListWorkflowExecutionsResponse{}, nil
	}
	resp := &workflowservice.ListWorkflowExecutionsResponse{Executions: f.pages[page]}
	if page+1 < len(f.pages) {
		resp.NextPageToken = []byte(fmt.Sprint(page + 1))
	}
	return resp, nil
}

type fakeRun struct {
	client.WorkflowRun
	id, run string
}

func (r fakeRun) GetID() string    { return r.id }
func (r fakeRun) GetRunID() string { return r.run }

type jsonValue []byte

func (v jsonValue) HasValue() bool         { return len(v) > 0 }
func (v jsonValue) Get(valuePtr any) error { return json.Unmarshal(v, valuePtr) }

// testEnv is an env with buffers for its streams and a dialer that hands out fc (or fails the
// test if fc is nil: the command must not connect).
type testEnv struct {
	*env
	stdin          *strings.Reader
	stdout, stderr *bytes.Buffer
	dials          int
}

func newTestEnv(t *testing.T, fc *fakeClient, stdin string) *testEnv {
	t.Helper()
	te := &testEnv{stdin: strings.NewReader(stdin), stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	te.env = newEnv(te.stdin, te.stdout, te.stderr)
	te.env.dial = func(context.Context, *env) (client.Client, error) {
		te.dials++
		if fc == nil {
			t.Errorf("the command connected to Temporal, it must not")
			return nil, errors.New("no server in this test")
		}
		return fc, nil
	}
	return te
}

// run runs the starter with args and returns the exit code.
func (te *testEnv) run(args ...string) int {
	return run(context.Background(), te.env, args)
}

// errLine returns stderr's "error: " line, failing the test unless there is exactly one.
func (te *testEnv) errLine(t *testing.T) string {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(te.stderr.String(), "\n") {
		if strings.HasPrefix(l, "error: ") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("want exactly one error line on stderr, got %d:\n%s", len(lines), te.stderr)
	}
	return lines[0]
}

// oneJSON decodes stdout as exactly one JSON document.
func (te *testEnv) oneJSON(t *testing.T, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(te.stdout.Bytes()))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, te.stdout)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON document:\n%s", te.stdout)
	}
}

func keywordPayload(t *testing.T, s string) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
