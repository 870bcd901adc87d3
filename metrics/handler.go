package metrics

import (
	"maps"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// handler is the Temporal clients' metrics handler (Registry.SDKHandler). The SDK's own
// metrics go on to the tally scope, under the names the SDK dashboard reads. Resurge's
// workflow-side metrics (the catalogue's Workflow entries, emitted in workflow code through
// workflow.GetMetricsHandler, which wraps this handler and drops everything during replay) go
// straight to the registry's vectors, with exactly the catalogued labels: the SDK's namespace,
// task_queue and workflow_type tags and Resurge's own, whatever other tags the SDK adds.
type handler struct {
	sdk  client.MetricsHandler
	tags map[string]string
	r    *Registry
}

func (h handler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := maps.Clone(h.tags)
	if merged == nil {
		merged = make(map[string]string, len(tags))
	}
	maps.Copy(merged, tags)
	return handler{sdk: h.sdk.WithTags(tags), tags: merged, r: h.r}
}

func (h handler) Counter(name string) client.MetricsCounter {
	if v, ok := h.r.workflowCounters[name]; ok {
		return counter{v.With(h.labels(name))}
	}
	return h.sdk.Counter(name)
}

func (h handler) Gauge(name string) client.MetricsGauge {
	if v, ok := h.r.workflowGauges[name]; ok {
		return gauge{v.With(h.labels(name))}
	}
	return h.sdk.Gauge(name)
}

func (h handler) Timer(name string) client.MetricsTimer { return h.sdk.Timer(name) }

// labels picks the catalogued labels of name out of the handler's tags ("" when missing).
func (h handler) labels(name string) prometheus.Labels {
	m, _ := Lookup(name)
	out := make(prometheus.Labels, len(m.Labels))
	for _, l := range m.Labels {
		out[l] = h.tags[l]
	}
	return out
}

type counter struct{ c prometheus.Counter }

func (c counter) Inc(d int64) {
	if d > 0 {
		c.c.Add(float64(d))
	}
}

type gauge struct{ g prometheus.Gauge }

func (g gauge) Update(v float64) { g.g.Set(v) }
