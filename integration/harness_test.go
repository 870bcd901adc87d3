// Package integration holds every test that needs a real Temporal server. They share one
// package, and so one test binary, because each binary that links the server takes minutes
// to build.
package integration

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"resurge/devserver"
	"resurge/workflows"
)

// devServerStartTimeout bounds one dev server start, generous for a loaded 2-core CI box.
const devServerStartTimeout = 2 * time.Minute

// startDevServer starts an in-process dev server on free ports, with Resurge's search
// attributes, keeping its state in dataDir (a fresh temp dir when empty). It is stopped when
// the test ends; a test may also Stop it earlier, e.g. to restart on the same dataDir.
func startDevServer(t *testing.T, dataDir string) *devserver.Server {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	return startDevServerWith(t, devserver.Options{
		DataDir:          dataDir,
		SearchAttributes: workflows.SearchAttributeNames,
	})
}

// startDevServerWith starts a dev server with opts as given (zero ports mean free ports) and
// stops it when the test ends. A nil opts.Logger logs to stderr as testLogger does.
func startDevServerWith(t *testing.T, opts devserver.Options) *devserver.Server {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger()
	}
	ctx, cancel := context.WithTimeout(t.Context(), devServerStartTimeout)
	defer cancel()

	srv, err := devserver.Start(ctx, opts)
	if err != nil {
		t.Fatalf("start dev server: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("stop dev server: %v", err)
		}
	})
	return srv
}

// dialDevServer returns an SDK client for srv's namespace, closed when the test ends.
func dialDevServer(t *testing.T, srv *devserver.Server) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{
		HostPort:  srv.HostPort(),
		Namespace: srv.Namespace(),
		Logger:    sdklog.NewStructuredLogger(testLogger()),
	})
	if err != nil {
		t.Fatalf("dial dev server %s: %v", srv.HostPort(), err)
	}
	t.Cleanup(c.Close)
	return c
}

// testLogger shows warnings and errors from the server and SDK on stderr. Not t.Log: the
// server's goroutines may still log while it stops, after the test has finished, which
// testing treats as a bug.
func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// testContext is a context for one step of a test, cancelled when the test ends.
func testContext(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	return ctx
}
