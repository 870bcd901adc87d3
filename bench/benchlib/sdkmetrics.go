package benchlib

import (
	"sort"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
)

// sdkMetrics is a client.MetricsHandler that keeps, per metric name (tags ignored), the count
// and sum of what the SDK's worker reports: sticky cache hits and misses, replays, task
// latencies. The window's delta goes into the results.
type sdkMetrics struct {
	mu sync.Mutex
	m  map[string]*SDKMetric
}

// SDKMetric is one SDK metric over a measuring window: a counter's total in Sum (Count is the
// number of increments), a timer's number of records and total seconds, a gauge's last value.
type SDKMetric struct {
	Kind  string  `json:"kind"`
	Count int64   `json:"count"`
	Sum   float64 `json:"sum"`
	Mean  float64 `json:"mean,omitempty"`
}

func newSDKMetrics() *sdkMetrics { return &sdkMetrics{m: map[string]*SDKMetric{}} }

func (s *sdkMetrics) get(name, kind string) *SDKMetric {
	e := s.m[name]
	if e == nil {
		e = &SDKMetric{Kind: kind}
		s.m[name] = e
	}
	return e
}

func (s *sdkMetrics) WithTags(map[string]string) client.MetricsHandler { return s }

func (s *sdkMetrics) Counter(name string) client.MetricsCounter {
	return counterFunc(func(d int64) {
		s.mu.Lock()
		e := s.get(name, "counter")
		e.Count++
		e.Sum += float64(d)
		s.mu.Unlock()
	})
}

func (s *sdkMetrics) Gauge(name string) client.MetricsGauge {
	return gaugeFunc(func(v float64) {
		s.mu.Lock()
		e := s.get(name, "gauge")
		e.Count++
		e.Sum = v
		s.mu.Unlock()
	})
}

func (s *sdkMetrics) Timer(name string) client.MetricsTimer {
	return timerFunc(func(d time.Duration) {
		s.mu.Lock()
		e := s.get(name, "timer")
		e.Count++
		e.Sum += d.Seconds()
		s.mu.Unlock()
	})
}

type counterFunc func(int64)

func (f counterFunc) Inc(d int64) { f(d) }

type gaugeFunc func(float64)

func (f gaugeFunc) Update(v float64) { f(v) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }

// snapshot copies the current values.
func (s *sdkMetrics) snapshot() map[string]SDKMetric {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]SDKMetric, len(s.m))
	for k, v := range s.m {
		out[k] = *v
	}
	return out
}

// sdkDelta is what happened between two snapshots (gauges: the later value).
func sdkDelta(before, after map[string]SDKMetric) map[string]SDKMetric {
	out := map[string]SDKMetric{}
	names := make([]string, 0, len(after))
	for k := range after {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		a, b := after[k], before[k]
		d := a
		if a.Kind != "gauge" {
			d.Count, d.Sum = a.Count-b.Count, a.Sum-b.Sum
		}
		if d.Count == 0 {
			continue
		}
		if d.Kind == "timer" {
			d.Mean = d.Sum / float64(d.Count)
		}
		out[k] = d
	}
	return out
}
