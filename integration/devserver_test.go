package integration

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"resurge/devserver"
	"resurge/workflows"
)

func TestDevServerUIAndSearchAttributes(t *testing.T) {
	srv := startDevServer(t, "")
	c := dialDevServer(t, srv)
	ctx := testContext(t, 30*time.Second)

	if srv.Namespace() != "default" {
		t.Errorf("Namespace() = %q, want %q", srv.Namespace(), "default")
	}
	if _, err := c.WorkflowService().DescribeNamespace(ctx,
		&workflowservice.DescribeNamespaceRequest{Namespace: "default"}); err != nil {
		t.Fatalf("describe namespace: %v", err)
	}
	requireKeywordSearchAttributes(t, c, workflows.SearchAttributeNames)

	if srv.UIURL() == "" {
		t.Fatal("UIURL() is empty, want the Web UI's address")
	}
	resp, err := http.Get(srv.UIURL() + "/")
	if err != nil {
		t.Fatalf("GET web UI: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/: status %s, want 200", srv.UIURL(), resp.Status)
	}
	if !strings.Contains(strings.ToLower(string(body)), "<html") {
		t.Errorf("GET %s/: body is not the UI's HTML page: %.200q", srv.UIURL(), body)
	}

	// The page alone proves only that assets are served; the UI's API proxy must also reach
	// the frontend over gRPC.
	nsURL := srv.UIURL() + "/api/v1/namespaces/default"
	resp, err = http.Get(nsURL)
	if err != nil {
		t.Fatalf("GET %s: %v", nsURL, err)
	}
	defer resp.Body.Close()
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"default"`) {
		t.Errorf("GET %s: status %s, body %.300q; want 200 describing namespace default", nsURL, resp.Status, body)
	}
}

// TestDevServerEphemeralWithoutUI also sends the server's logs to a file: the caller's logger
// (the terminal) gets nothing below error, the file gets the server's info lines.
func TestDevServerEphemeralWithoutUI(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "temporal-server.log")
	terminal := &levelCounter{}
	srv := startDevServerWith(t, devserver.Options{
		UIPort: devserver.DisableUI, Namespace: "scratch", LogFile: logFile, Logger: slog.New(terminal),
	})
	if got := srv.UIURL(); got != "" {
		t.Errorf("UIURL() = %q with the UI disabled, want empty", got)
	}
	c := dialDevServer(t, srv)
	if _, err := c.WorkflowService().DescribeNamespace(testContext(t, 30*time.Second),
		&workflowservice.DescribeNamespaceRequest{Namespace: "scratch"}); err != nil {
		t.Fatalf("describe namespace of in-memory server: %v", err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if n := terminal.belowError(); n > 0 {
		t.Errorf("%d server records below error reached the caller's logger, want them in the log file only", n)
	}
	data, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	log := string(data)
	for _, want := range []string{"temporal dev server starting", "level=INFO", "component=temporal-server"} {
		if !strings.Contains(log, want) {
			t.Errorf("server log file lacks %q:\n%.2000s", want, log)
		}
	}
}

// levelCounter is a slog handler that counts the server's records below error (those of a
// logger with component=temporal-server; the dev server's own warnings, such as a port retry,
// are not the server's).
type levelCounter struct {
	mu     sync.Mutex
	below  int
	server bool // set on the handlers derived for the server's logger
	root   *levelCounter
}

func (*levelCounter) Enabled(context.Context, slog.Level) bool { return true }
func (l *levelCounter) Handle(_ context.Context, r slog.Record) error {
	if l.server && r.Level < slog.LevelError {
		root := l.counter()
		root.mu.Lock()
		root.below++
		root.mu.Unlock()
	}
	return nil
}
func (l *levelCounter) WithAttrs(as []slog.Attr) slog.Handler {
	server := l.server || slices.ContainsFunc(as, func(a slog.Attr) bool {
		return a.Key == "component" && a.Value.String() == "temporal-server"
	})
	return &levelCounter{server: server, root: l.counter()}
}
func (l *levelCounter) WithGroup(string) slog.Handler { return l }

func (l *levelCounter) counter() *levelCounter {
	if l.root != nil {
		return l.root
	}
	return l
}

func (l *levelCounter) belowError() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.below
}

// Names for the restart test's workflow.
const (
	restartTaskQueue  = "devserver-restart-test"
	restartSignal     = "name"
	restartStateQuery = "state"
)

// greetWhenSignalled parks until it receives a name, then greets it: the smallest workflow
// whose progress must survive a server restart.
func greetWhenSignalled(ctx workflow.Context, greeting string) (string, error) {
	state := "waiting"
	if err := workflow.SetQueryHandler(ctx, restartStateQuery, func() (string, error) { return state, nil }); err != nil {
		return "", err
	}
	var name string
	workflow.GetSignalChannel(ctx, restartSignal).Receive(ctx, &name)
	state = "greeted"
	return greeting + ", " + name, nil
}

// startGreetWorker runs a worker for greetWhenSignalled until the test ends or stop is called.
func startGreetWorker(t *testing.T, c client.Client) (stop func()) {
	t.Helper()
	w := worker.New(c, restartTaskQueue, worker.Options{})
	w.RegisterWorkflow(greetWhenSignalled)
	if err := w.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			w.Stop()
		}
	}
	t.Cleanup(stop)
	return stop
}

func TestDevServerRestartKeepsWorkflows(t *testing.T) {
	dataDir := t.TempDir()

	// First life: start the workflow and let it reach its wait.
	first := startDevServer(t, dataDir)
	c1 := dialDevServer(t, first)
	stopWorker := startGreetWorker(t, c1)
	ctx := testContext(t, 2*time.Minute)

	run, err := c1.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        "devserver-restart",
		TaskQueue: restartTaskQueue,
	}, greetWhenSignalled, "hello")
	if err != nil {
		t.Fatalf("start workflow: %v", err)
	}
	// A query answer proves the worker ran the first workflow task, so the server has
	// persisted a workflow that is mid-flight, not merely a start request.
	requireQueryState(t, c1, run, "waiting")

	stopWorker()
	c1.Close()
	if err := first.Stop(); err != nil {
		t.Fatalf("stop first server: %v", err)
	}
	requireWALJournal(t, filepath.Join(dataDir, "temporal.db"))

	// Second life, same DataDir: the workflow is still there and finishes on a signal. The
	// restart also asks for one more search attribute: the namespace already exists, so it
	// must be added through the running server, next to the ones kept from the first life.
	const addedAttr = "ResurgeDevServerTestAdded"
	second := startDevServerWith(t, devserver.Options{
		DataDir:          dataDir,
		SearchAttributes: append(slices.Clone(workflows.SearchAttributeNames), addedAttr),
	})
	c2 := dialDevServer(t, second)
	requireKeywordSearchAttributes(t, c2, append(slices.Clone(workflows.SearchAttributeNames), addedAttr))
	startGreetWorker(t, c2)

	if err := c2.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), restartSignal, "Resurge"); err != nil {
		t.Fatalf("signal workflow after restart: %v", err)
	}
	var got string
	if err := c2.GetWorkflow(ctx, run.GetID(), run.GetRunID()).Get(ctx, &got); err != nil {
		t.Fatalf("workflow result after restart: %v", err)
	}
	if want := "hello, Resurge"; got != want {
		t.Errorf("workflow result = %q, want %q", got, want)
	}
}

// requireQueryState polls the workflow's state query until it answers want.
func requireQueryState(t *testing.T, c client.Client, run client.WorkflowRun, want string) {
	t.Helper()
	ctx := testContext(t, 30*time.Second)
	var got string
	var err error
	for ctx.Err() == nil {
		var v converter.EncodedValue
		if v, err = c.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), restartStateQuery); err == nil {
			if err = v.Get(&got); err == nil && got == want {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("workflow never reported state %q (last state %q, error %v)", want, got, err)
}

// requireKeywordSearchAttributes fails unless every name is a custom Keyword search attribute
// of the client's namespace.
func requireKeywordSearchAttributes(t *testing.T, c client.Client, names []string) {
	t.Helper()
	ctx := testContext(t, 30*time.Second)
	resp, err := c.OperatorService().ListSearchAttributes(ctx,
		&operatorservice.ListSearchAttributesRequest{Namespace: "default"})
	if err != nil {
		t.Fatalf("list search attributes: %v", err)
	}
	for _, name := range names {
		typ, ok := resp.GetCustomAttributes()[name]
		switch {
		case !ok:
			t.Errorf("search attribute %q not registered; custom attributes: %v", name, resp.GetCustomAttributes())
		case typ != enumspb.INDEXED_VALUE_TYPE_KEYWORD:
			t.Errorf("search attribute %q has type %s, want Keyword", name, typ)
		}
	}
}

// requireWALJournal fails unless the SQLite file at path is in WAL mode. journal_mode=wal is
// recorded in the file itself, so a fresh connection sees whether the server's pragma took.
func requireWALJournal(t *testing.T, path string) {
	t.Helper()
	db := openSQLiteReadOnly(t, path)
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatalf("read journal_mode of %s: %v", path, err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode of %s = %q, want wal", path, mode)
	}
}

// openSQLiteReadOnly opens the SQLite file at path read-only, closed when the test ends. The
// "sqlite" driver (modernc.org/sqlite) is registered by the server's SQLite plugin.
func openSQLiteReadOnly(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}
