package production

import (
	"testing"
	"time"

	"resurge/domain"
	"resurge/internal/faultcheck"
	"resurge/metrics"
	"resurge/platform/sim"
)

// scrapeWorkers scrapes every worker's /metrics, as Prometheus would.
func scrapeWorkers(t *testing.T, top *Topology) []metrics.Families {
	t.Helper()
	var out []metrics.Families
	for i := range top.Workers {
		f, err := metrics.Scrape(testContext(t, time.Minute), top.WorkerMetricsURL(i))
		if err != nil {
			t.Fatalf("scrape %s: %v", top.Workers[i].Name, err)
		}
		out = append(out, f)
	}
	return out
}

// sumOver adds a series' values up over the fleet.
func sumOver(fams []metrics.Families, name string, match map[string]string) float64 {
	total := 0.0
	for _, f := range fams {
		total += f.Sum(name, match)
	}
	return total
}

// checkMetricsAgainstPlatform compares Resurge's counters, summed over the fleet's workers,
// with what the platform, the posts' histories and the arbiter's history recorded: the
// actions with the platform's effects, the decisions by source with those the posts received,
// and the arbiter's with its own history. It holds exactly only when no worker process died or
// restarted during the test: a counter lives in its process.
func checkMetricsAgainstPlatform(t *testing.T, top *Topology, effects []sim.Effect, decisions []faultcheck.Decision, received faultcheck.Received) {
	t.Helper()
	// The SDK's half reaches the registry every metrics.ReportInterval; Resurge's at once.
	time.Sleep(2 * metrics.ReportInterval)
	fams := scrapeWorkers(t, top)
	kinds := map[string]int{}
	for _, e := range effects {
		kinds[e.Kind]++
	}
	for _, kind := range []string{sim.KindComment, sim.KindEdit, sim.KindThread} {
		got := sumOver(fams, metrics.ActionsTotal, map[string]string{metrics.LabelPlatform: domain.PlatformSim, metrics.LabelAction: kind, metrics.LabelStatus: string(domain.StatusSuccess)})
		if int(got) != kinds[kind] {
			t.Errorf("%s{action=%q,status=success} summed over the workers is %v; the platform has %d %s effects", metrics.ActionsTotal, kind, got, kinds[kind], kind)
		}
	}
	byDecision := map[domain.Decision]int{}
	for _, d := range decisions {
		byDecision[d.Decision]++
	}
	counted := map[string]float64{}
	for _, d := range []domain.Decision{domain.DecisionAllow, domain.DecisionDeny, domain.DecisionLock} {
		for _, local := range []bool{false, true} {
			source := metrics.DecisionSource(local)
			got := sumOver(fams, metrics.ArbitrationDecisionsTotal, map[string]string{metrics.LabelDecision: string(d), metrics.LabelSource: source})
			counted[string(d)+"/"+source] = got
			if want := received.Counts[faultcheck.ReceivedDecision{Local: local, Decision: d}]; int(got) != want {
				t.Errorf("%s{decision=%q,source=%q} summed over the workers is %v; the posts' histories received %d", metrics.ArbitrationDecisionsTotal, d, source, got, want)
			}
			// Every decision the arbiter made reached a post (none of this suite's arbitrations
			// fails, and nothing else asks the arbiter).
			if !local && int(got) != byDecision[d] {
				t.Errorf("%s{decision=%q,source=%q} summed over the workers is %v; the arbiter's history has %d", metrics.ArbitrationDecisionsTotal, d, source, got, byDecision[d])
			}
		}
	}
	t.Logf("metrics of %d workers match the platform (%v), the posts' histories and the arbiter's (%v): decisions %v", len(fams), kinds, byDecision, counted)
}
