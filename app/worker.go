package app

import (
	"context"
	"log/slog"
	"os"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"resurge/activities"
	"resurge/domain"
	"resurge/platform"
	"resurge/workflows"
)

// EnvAlertWebhookURL names the webhook that receives monitors' alerts as JSON (optional).
const EnvAlertWebhookURL = "RESURGE_ALERT_WEBHOOK_URL"

// SafetyConfig tunes the arbiter and the monitors. Zero values take the defaults.
type SafetyConfig struct {
	Policy          domain.SafetyPolicy
	Monitor         workflows.MonitorConfig
	AlertWebhookURL string
}

// SafetyConfigFromEnv reads the safety configuration from the environment.
func SafetyConfigFromEnv() SafetyConfig {
	return SafetyConfig{AlertWebhookURL: os.Getenv(EnvAlertWebhookURL)}
}

// Wiring is what a worker needs: the activities with their dependencies and the client side of
// the safety workflows.
type Wiring struct {
	Activities *activities.Activities
	Safety     *workflows.SafetyClient
	Alerts     *activities.AlertSink
}

// Wire builds the activities for a worker connected with c.
func Wire(c client.Client, platforms map[string]platform.Platform, cfg SafetyConfig, logger *slog.Logger) Wiring {
	if cfg.Policy.GlobalPerHour == 0 {
		cfg.Policy = domain.DefaultSafetyPolicy()
	}
	safety := &workflows.SafetyClient{Client: c, Policy: cfg.Policy, Monitor: cfg.Monitor}
	alerts := &activities.AlertSink{WebhookURL: cfg.AlertWebhookURL, Logger: logger.With("component", "alerts")}
	return Wiring{
		Activities: &activities.Activities{Platforms: platforms, Safety: safety, Alerts: alerts},
		Safety:     safety,
		Alerts:     alerts,
	}
}

// NewWorker returns a worker on Resurge's task queue with every workflow and activity
// registered. The caller starts and stops it.
func NewWorker(c client.Client, acts *activities.Activities, opts worker.Options) worker.Worker {
	w := worker.New(c, workflows.TaskQueue, opts)
	w.RegisterWorkflow(workflows.PostWorkflow)
	w.RegisterWorkflow(workflows.MonitorWorkflow)
	w.RegisterWorkflow(workflows.ArbiterWorkflow)
	w.RegisterActivity(acts)
	return w
}

// StartWorker starts a worker and makes sure the singleton arbiter runs.
func StartWorker(ctx context.Context, c client.Client, wiring Wiring, opts worker.Options) (worker.Worker, error) {
	w := NewWorker(c, wiring.Activities, opts)
	if err := w.Start(); err != nil {
		return nil, err
	}
	if err := wiring.Safety.EnsureArbiter(ctx); err != nil {
		w.Stop()
		return nil, err
	}
	return w, nil
}
