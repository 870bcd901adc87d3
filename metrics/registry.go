package metrics

import (
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
)

// ReportInterval is how often the SDK's tally scope hands what it recorded to the Prometheus
// registry: a scrape sees an SDK metric at most this long after it happened (Resurge's own
// are in the registry at once).
const ReportInterval = time.Second

// Registry is one worker process's metrics: a Prometheus registry holding the SDK's metrics,
// Resurge's and the Go runtime's and process's, served by Handler.
type Registry struct {
	prom  *prometheus.Registry
	sdk   client.MetricsHandler
	scope io.Closer

	// The workflow-side metrics, by name (see handler).
	workflowCounters map[string]*prometheus.CounterVec
	workflowGauges   map[string]*prometheus.GaugeVec

	platformDuration *prometheus.HistogramVec
	platformErrors   *prometheus.CounterVec
	score            *prometheus.HistogramVec
	updateRetries    *prometheus.CounterVec
}

// NewRegistry builds a registry. Registration errors (a metric emitted with two different
// label sets) are logged to logger, and that metric is dropped, instead of panicking.
func NewRegistry(logger *slog.Logger) (*Registry, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, err
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, err
	}

	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer:       reg,
		DefaultTimerType: tallyprom.HistogramTimerType,
		OnRegisterError: func(err error) {
			logger.Error("metric dropped: registration failed", "error", err)
		},
	})
	r := &Registry{
		prom:             reg,
		workflowCounters: map[string]*prometheus.CounterVec{},
		workflowGauges:   map[string]*prometheus.GaugeVec{},
	}
	var own []prometheus.Collector
	for _, m := range Catalogue {
		switch {
		case !m.Workflow:
		case m.Type == TypeCounter:
			v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: m.Name, Help: m.Help}, m.Labels)
			r.workflowCounters[m.Name] = v
			own = append(own, v)
		case m.Type == TypeGauge:
			v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: m.Name, Help: m.Help}, m.Labels)
			r.workflowGauges[m.Name] = v
			own = append(own, v)
		}
	}
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &sdktally.PrometheusSanitizeOptions,
	}, ReportInterval)
	// No prefix: the SDK's names (temporal_*) are what the Temporal SDK dashboard queries.
	r.sdk = handler{sdk: sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)), r: r}
	r.scope = closer

	r.platformDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: PlatformCallDuration, Help: help(PlatformCallDuration), Buckets: PlatformCallBuckets,
	}, labels(PlatformCallDuration))
	r.platformErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: PlatformCallErrorsTotal, Help: help(PlatformCallErrorsTotal),
	}, labels(PlatformCallErrorsTotal))
	r.score = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: StagnationScore, Help: help(StagnationScore), Buckets: ScoreBuckets,
	}, labels(StagnationScore))
	r.updateRetries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: ArbitrationRetriesTotal, Help: help(ArbitrationRetriesTotal),
	}, labels(ArbitrationRetriesTotal))
	for _, c := range append(own, r.platformDuration, r.platformErrors, r.score, r.updateRetries) {
		if err := reg.Register(c); err != nil {
			_ = closer.Close()
			return nil, err
		}
	}
	return r, nil
}

// SDKHandler is the handler to give the Temporal clients of this process
// (client.Options.MetricsHandler): the SDK's metrics and the workflow-side ones go through it
// (see handler).
func (r *Registry) SDKHandler() client.MetricsHandler { return r.sdk }

// Handler serves the registry in the Prometheus text format.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.prom, promhttp.HandlerOpts{})
}

// Gatherer is the underlying registry, for tests and for serving it elsewhere.
func (r *Registry) Gatherer() prometheus.Gatherer { return r.prom }

// Close reports what the SDK's scope still holds and stops its reporting loop.
func (r *Registry) Close() error { return r.scope.Close() }

// ObserveScore records a stagnation score the planner computed for a post on platform. A nil
// registry records nothing.
func (r *Registry) ObserveScore(platform string, score float64) {
	if r == nil {
		return
	}
	r.score.WithLabelValues(platform).Observe(score)
}

// observeCall records one platform call.
func (r *Registry) observeCall(platform, op string, took time.Duration, code string) {
	r.platformDuration.WithLabelValues(platform, op).Observe(took.Seconds())
	if code != "" {
		r.platformErrors.WithLabelValues(platform, op, code).Inc()
	}
}

func help(name string) string {
	m, _ := Lookup(name)
	return m.Help
}

func labels(name string) []string {
	m, _ := Lookup(name)
	return m.Labels
}
