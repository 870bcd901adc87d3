package devserver

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

const (
	// readyTimeout bounds the wait for the server when the caller's context has no deadline.
	readyTimeout = time.Minute
	// readyPoll is the pause between readiness probes.
	readyPoll = 100 * time.Millisecond
)

// dialWhenServing returns a client once the frontend at hostPort answers a health check and
// knows namespace. The server's Start returns when its services have started, but the
// frontend can still refuse calls briefly while its namespace registry and membership
// settle; callers of our Start should never see that.
func dialWhenServing(ctx context.Context, hostPort, namespace string, logger *slog.Logger) (client.Client, error) {
	var lastErr error
	for {
		c, err := client.DialContext(ctx, client.Options{
			HostPort:  hostPort,
			Namespace: namespace,
			Logger:    sdklog.NewStructuredLogger(logger),
		})
		if err == nil {
			if err = probe(ctx, c, namespace); err == nil {
				return c, nil
			}
			c.Close()
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("frontend %s not serving namespace %q: %w (last error: %v)",
				hostPort, namespace, ctx.Err(), lastErr)
		case <-time.After(readyPoll):
		}
	}
}

func probe(ctx context.Context, c client.Client, namespace string) error {
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return err
	}
	_, err := c.WorkflowService().DescribeNamespace(ctx,
		&workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	return err
}

// waitForUI polls the UI server's health endpoint under baseURL until it answers 200. The UI
// server's Start blocks (we run it in a goroutine) and has no ready signal, so this is how we
// learn it is listening.
func waitForUI(ctx context.Context, baseURL string) error {
	url := baseURL + "/healthz"
	var lastErr error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("web UI %s not serving: %w (last error: %v)", url, ctx.Err(), lastErr)
		case <-time.After(readyPoll):
		}
	}
}
