package integration

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// The dev server keeps visibility in a database of its own (visibility.db next to
// temporal.db), so that its slow, index-heavy writes do not queue in front of the history
// service's on SQLite's one writer per file. A data dir made before that split keeps its one
// file.

func TestDevServerVisibilityHasItsOwnDatabase(t *testing.T) {
	dataDir := t.TempDir()
	srv := startDevServer(t, dataDir)
	c := dialDevServer(t, srv)
	const id = "devserver-visibility-split"
	startParkedWorkflow(t, c, id)

	execDB, visDB := filepath.Join(dataDir, "temporal.db"), filepath.Join(dataDir, "visibility.db")
	waitVisibilityRows(t, visDB, id, 1)
	if n := visibilityRows(t, execDB, id); n != 0 {
		t.Errorf("%s holds %d visibility rows of %s, want 0 (they belong in %s)", execDB, n, id, visDB)
	}
	requireListed(t, c, id)
	if err := srv.Stop(); err != nil {
		t.Fatalf("stop dev server: %v", err)
	}
	requireWALJournal(t, visDB)

	// The same data dir again: still the two files, the record still listed.
	again := startDevServer(t, dataDir)
	requireListed(t, dialDevServer(t, again), id)
}

func TestDevServerKeepsAPreSplitDataDir(t *testing.T) {
	dataDir := t.TempDir()
	first := startDevServer(t, dataDir)
	if err := first.Stop(); err != nil {
		t.Fatalf("stop dev server: %v", err)
	}
	// Without visibility.db the data dir looks like one made before the split: temporal.db
	// has the visibility tables too, and must keep serving them.
	visDB := filepath.Join(dataDir, "visibility.db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(visDB + suffix); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}

	srv := startDevServer(t, dataDir)
	c := dialDevServer(t, srv)
	const id = "devserver-visibility-one-file"
	startParkedWorkflow(t, c, id)
	waitVisibilityRows(t, filepath.Join(dataDir, "temporal.db"), id, 1)
	requireListed(t, c, id)
	if _, err := os.Stat(visDB); !os.IsNotExist(err) {
		t.Errorf("a pre-split data dir got %s (stat: %v); its visibility must stay in temporal.db", visDB, err)
	}
}

// startParkedWorkflow starts greetWhenSignalled with no worker: a running workflow whose start
// wrote a visibility record.
func startParkedWorkflow(t *testing.T, c client.Client, id string) {
	t.Helper()
	ctx := testContext(t, 30*time.Second)
	if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: restartTaskQueue}, greetWhenSignalled, "hello"); err != nil {
		t.Fatalf("start %s: %v", id, err)
	}
}

// visibilityRows counts the visibility records of workflowID in the SQLite file at path.
func visibilityRows(t *testing.T, path, workflowID string) int {
	t.Helper()
	return countVisibilityRows(t, openSQLiteReadOnly(t, path), path, workflowID)
}

func countVisibilityRows(t *testing.T, db *sql.DB, path, workflowID string) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM executions_visibility WHERE workflow_id = ?", workflowID).Scan(&n); err != nil {
		t.Fatalf("count visibility rows in %s: %v", path, err)
	}
	return n
}

// waitVisibilityRows waits until path holds want visibility records of workflowID (the
// server writes them from its visibility queue, shortly after the start).
func waitVisibilityRows(t *testing.T, path, workflowID string, want int) {
	t.Helper()
	db := openSQLiteReadOnly(t, path)
	deadline := time.Now().Add(30 * time.Second)
	for {
		n := countVisibilityRows(t, db, path, workflowID)
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %d visibility rows of %s after 30s, want %d", path, n, workflowID, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// requireListed fails unless the server's visibility lists workflowID.
func requireListed(t *testing.T, c client.Client, workflowID string) {
	t.Helper()
	ctx := testContext(t, 30*time.Second)
	var last error
	for ctx.Err() == nil {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf("WorkflowId = %q", workflowID)})
		if err == nil && len(resp.GetExecutions()) == 1 {
			return
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s is not listed by the server's visibility (last error %v)", workflowID, last)
}
