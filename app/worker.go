package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"resurge/activities"
	"resurge/domain"
	"resurge/metrics"
	"resurge/platform"
	"resurge/workflows"
)

// EnvAlertWebhookURL names the webhook that receives monitors' alerts as JSON (optional).
const EnvAlertWebhookURL = "RESURGE_ALERT_WEBHOOK_URL"

// EnvSafetyPolicyFile names a JSON file holding the arbiter's safety policy (optional), in
// domain.DecodeSafetyPolicy's format: fields left out take the defaults. A worker started with
// it sends the policy to the running arbiter.
const EnvSafetyPolicyFile = "RESURGE_SAFETY_POLICY_FILE"

// EnvArbitrationsInFlight bounds the worker's arbitrate-batch updates in flight (default
// workflows.MaxArbitrationsInFlight, 2). The server takes at most 10 updates in flight per
// workflow: with N workers, N x this above 10 makes the server turn arbitrations away, and
// they are retried (README "The arbiter").
const EnvArbitrationsInFlight = "RESURGE_ARBITRATIONS_IN_FLIGHT"

// SafetyConfig tunes the arbiter and the monitors. Zero values take the defaults.
type SafetyConfig struct {
	Policy domain.SafetyPolicy
	// PolicySource says where Policy was configured explicitly (SafetyConfigFromEnv sets the
	// policy file's path). When it is set, StartWorker signals Policy to the running arbiter,
	// replacing the policy in force. When it is empty, Policy (or the defaults) is only the
	// start input of an arbiter that is not running yet: a worker without a policy of its own
	// never resets one that another worker or an operator set.
	PolicySource    string
	Monitor         workflows.MonitorConfig
	AlertWebhookURL string
	// LockViewTTL is how long the worker refuses autonomous changes by itself after the arbiter
	// last answered it lock (workflows.SafetyClient.LockViewTTL): 0 means the default,
	// workflows.DefaultLockViewTTL; negative asks the arbiter every time.
	LockViewTTL time.Duration
	// ArbitrationsInFlight bounds the worker's arbitrations in flight (0: the default).
	ArbitrationsInFlight int
}

// EnvLockViewTTL sets SafetyConfig.LockViewTTL as a Go duration ("15s"; "0" asks the arbiter
// every time).
const EnvLockViewTTL = "RESURGE_LOCK_VIEW_TTL"

// ParseLockViewTTL reads a lock-view TTL as the worker's flag and environment give it: a
// duration from 0 (off) to MaxLockViewTTL. It returns SafetyConfig's encoding (negative: off).
func ParseLockViewTTL(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	switch {
	case err != nil:
		return 0, fmt.Errorf("lock view TTL %q: want a duration such as 15s (0 turns it off)", s)
	case d < 0 || d > MaxLockViewTTL:
		return 0, fmt.Errorf("lock view TTL %s: must be between 0 (off) and %s", d, MaxLockViewTTL)
	case d == 0:
		return -1, nil
	}
	return d, nil
}

// MaxLockViewTTL bounds the lock view: a release reaches a worker at most this late.
const MaxLockViewTTL = 10 * time.Minute

// lockViewTTL is the SafetyClient's TTL for a SafetyConfig's.
func (c SafetyConfig) lockViewTTL() time.Duration {
	switch {
	case c.LockViewTTL == 0:
		return workflows.DefaultLockViewTTL
	case c.LockViewTTL < 0:
		return 0
	}
	return c.LockViewTTL
}

// SafetyConfigFromEnv reads the safety configuration from the environment: the alert webhook
// and, with RESURGE_SAFETY_POLICY_FILE, the policy file decoded onto the defaults.
func SafetyConfigFromEnv() (SafetyConfig, error) {
	cfg := SafetyConfig{AlertWebhookURL: os.Getenv(EnvAlertWebhookURL)}
	if v := os.Getenv(EnvLockViewTTL); strings.TrimSpace(v) != "" {
		ttl, err := ParseLockViewTTL(v)
		if err != nil {
			return cfg, fmt.Errorf("%s: %w", EnvLockViewTTL, err)
		}
		cfg.LockViewTTL = ttl
	}
	if v := strings.TrimSpace(os.Getenv(EnvArbitrationsInFlight)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10 {
			return cfg, fmt.Errorf("%s: want a number from 1 to 10 (the server's limit per workflow), got %q", EnvArbitrationsInFlight, v)
		}
		cfg.ArbitrationsInFlight = n
	}
	path := os.Getenv(EnvSafetyPolicyFile)
	if strings.TrimSpace(path) == "" {
		return cfg, nil
	}
	p, err := LoadSafetyPolicy(path)
	if err != nil {
		return cfg, fmt.Errorf("%s: %w", EnvSafetyPolicyFile, err)
	}
	cfg.Policy, cfg.PolicySource = p, path
	return cfg, nil
}

// LoadSafetyPolicy reads a JSON safety policy file and decodes it onto the defaults
// (domain.DecodeSafetyPolicy); errors name the file.
func LoadSafetyPolicy(path string) (domain.SafetyPolicy, error) {
	f, err := os.Open(path)
	if err != nil {
		return domain.SafetyPolicy{}, fmt.Errorf("safety policy file: %w", err)
	}
	defer f.Close()
	// One byte over the limit, so that the decoder reports an oversized file.
	data, err := io.ReadAll(io.LimitReader(f, domain.MaxPolicyBytes+1))
	if err != nil {
		return domain.SafetyPolicy{}, fmt.Errorf("safety policy file %s: %w", path, err)
	}
	p, err := domain.DecodeSafetyPolicy(domain.DefaultSafetyPolicy(), data)
	if err != nil {
		return domain.SafetyPolicy{}, fmt.Errorf("safety policy file %s: %w", path, err)
	}
	return p, nil
}

// Wiring is what a worker needs: the activities with their dependencies and the client side of
// the safety workflows.
type Wiring struct {
	Activities *activities.Activities
	Safety     *workflows.SafetyClient
	Alerts     *activities.AlertSink
	// PolicySource is SafetyConfig.PolicySource: when set, StartWorker sends Safety.Policy to
	// the running arbiter.
	PolicySource string
}

// Wire builds the activities for a worker connected with c.
func Wire(c client.Client, platforms map[string]platform.Platform, cfg SafetyConfig, logger *slog.Logger) Wiring {
	if cfg.Policy.GlobalPerHour == 0 {
		cfg.Policy = domain.DefaultSafetyPolicy()
	}
	safety := &workflows.SafetyClient{Client: c, Policy: cfg.Policy, Monitor: cfg.Monitor, LockViewTTL: cfg.lockViewTTL(), MaxInFlight: cfg.ArbitrationsInFlight}
	alerts := &activities.AlertSink{WebhookURL: cfg.AlertWebhookURL, Logger: logger.With("component", "alerts")}
	return Wiring{
		Activities:   &activities.Activities{Platforms: platforms, Safety: safety, Alerts: alerts},
		Safety:       safety,
		Alerts:       alerts,
		PolicySource: cfg.PolicySource,
	}
}

// Instrument makes the wiring's activities record their metrics in reg: every platform call
// (latency, errors by code) and the planner's stagnation scores. The workflow-side metrics
// need only the client's metrics handler (reg.SDKHandler()).
func (w Wiring) Instrument(reg *metrics.Registry) {
	w.Activities.Platforms = reg.Platforms(w.Activities.Platforms)
	w.Activities.Metrics = reg
}

// NewWorker returns a worker polling Resurge's two task queues, with every workflow and
// activity registered on both: workflows.TaskQueue for the posts with opts (and
// DefaultWorkflowTaskPollers unless opts chooses the pollers), and
// workflows.SafetyTaskQueue for the arbiter and the monitors with pollers and slots of their
// own (opts' interceptors and identity only), so that the safety workflows' tasks never wait
// behind the posts'. The caller starts and stops it.
func NewWorker(c client.Client, acts *activities.Activities, opts worker.Options) worker.Worker {
	posts := worker.New(c, workflows.TaskQueue, postsWorkerOptions(opts))
	safety := worker.New(c, workflows.SafetyTaskQueue, worker.Options{Identity: opts.Identity, Interceptors: opts.Interceptors,
		WorkerStopTimeout: opts.WorkerStopTimeout, DeadlockDetectionTimeout: opts.DeadlockDetectionTimeout})
	for _, w := range []worker.Worker{posts, safety} {
		// Both queues take every workflow: a safety workflow started before SafetyTaskQueue
		// runs on TaskQueue until its next continue-as-new.
		w.RegisterWorkflow(workflows.PostWorkflow)
		w.RegisterWorkflow(workflows.MonitorWorkflow)
		w.RegisterWorkflow(workflows.ArbiterWorkflow)
		w.RegisterActivity(acts)
	}
	return &workerPair{Worker: posts, safety: safety}
}

// DefaultWorkflowTaskPollers is how many workflow tasks the posts' worker polls for at once
// when its options choose no poller count or behaviour (the SDK's default is 2). A cycle's
// workflow task is short and the server hands it to a waiting poller, or else stores it in
// the task queue's backlog for later; with 2 pollers a busy worker leaves a core idle while
// tasks pile up. With 10,000 posts sampled every minute on 2 cores (README.md,
// "Performance"): 120.5 cycles/s with 2 pollers, 144.6 with 8, 135.4 with 16, 117.1 with 32.
const DefaultWorkflowTaskPollers = 8

// postsWorkerOptions is opts with DefaultWorkflowTaskPollers when opts leaves the pollers to
// the SDK; a count or a poller behaviour the caller chose is kept.
func postsWorkerOptions(opts worker.Options) worker.Options {
	if opts.MaxConcurrentWorkflowTaskPollers == 0 && opts.WorkflowTaskPollerBehavior == nil {
		opts.MaxConcurrentWorkflowTaskPollers = DefaultWorkflowTaskPollers
	}
	return opts
}

// workerPair is the posts' worker with the safety queue's beside it: Start, Run and Stop act
// on both (registering afterwards reaches the posts' worker only).
type workerPair struct {
	worker.Worker
	safety worker.Worker
}

func (p *workerPair) Start() error {
	if err := p.safety.Start(); err != nil {
		return fmt.Errorf("worker for %s: %w", workflows.SafetyTaskQueue, err)
	}
	if err := p.Worker.Start(); err != nil {
		p.safety.Stop()
		return err
	}
	return nil
}

func (p *workerPair) Run(interruptCh <-chan any) error {
	if err := p.Start(); err != nil {
		return err
	}
	<-interruptCh
	p.Stop()
	return nil
}

func (p *workerPair) Stop() {
	p.Worker.Stop()
	p.safety.Stop()
}

// StartWorker starts a worker and makes sure the singleton arbiter runs. When the wiring's
// policy was configured explicitly (Wiring.PolicySource), it then sends that policy to the
// arbiter, which applies it to every later request; otherwise the policy in force is left as
// it is.
func StartWorker(ctx context.Context, c client.Client, wiring Wiring, opts worker.Options) (worker.Worker, error) {
	w := NewWorker(c, wiring.Activities, opts)
	if err := w.Start(); err != nil {
		return nil, err
	}
	if err := wiring.Safety.EnsureArbiter(ctx); err != nil {
		w.Stop()
		return nil, err
	}
	if err := sendConfiguredPolicy(ctx, wiring); err != nil {
		w.Stop()
		return nil, err
	}
	return w, nil
}

// sendConfiguredPolicy signals the wiring's policy to the arbiter if it was configured
// explicitly.
func sendConfiguredPolicy(ctx context.Context, wiring Wiring) error {
	if wiring.PolicySource == "" {
		return nil
	}
	if err := wiring.Safety.SetPolicy(ctx, wiring.Safety.Policy); err != nil {
		return fmt.Errorf("send the safety policy from %s to the arbiter: %w", wiring.PolicySource, err)
	}
	return nil
}
