package resurge_test

// Static checks of the observability part of docker-compose.yml: Prometheus scraping the
// workers and the Temporal server, Grafana with its provisioned data source and dashboards.
// The files are parsed and checked against the code: scrape targets against the services'
// metrics addresses, every metric a dashboard queries against what the worker exports
// (metrics.Catalogue, the Go SDK's names, the Go runtime's), the labels it groups by against
// the metrics' labels.

import (
	"encoding/json"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"resurge/metrics"
)

const (
	svcPrometheus = "prometheus"
	svcGrafana    = "grafana"

	// Container paths the checks look for.
	prometheusConfigPath = "/etc/prometheus/prometheus.yml"
	grafanaProvisioning  = "/etc/grafana/provisioning"
)

// metricsEnv names, per service, the environment variable holding its metrics listen address.
var metricsEnv = map[string]string{svcWorker: "RESURGE_METRICS_ADDR", svcTemporal: "PROMETHEUS_ENDPOINT"}

type prometheusConfig struct {
	ScrapeConfigs []scrapeConfig `yaml:"scrape_configs"`
}

type scrapeConfig struct {
	JobName       string `yaml:"job_name"`
	MetricsPath   string `yaml:"metrics_path"`
	StaticConfigs []struct {
		Targets []string `yaml:"targets"`
	} `yaml:"static_configs"`
	DNSSDConfigs []dnsSDConfig `yaml:"dns_sd_configs"`
}

type dnsSDConfig struct {
	Names []string `yaml:"names"`
	Type  string   `yaml:"type"`
	Port  int      `yaml:"port"`
}

// readMounted reads the host file behind a container path of service s, parsing it into v
// (YAML, which JSON also is).
func readMounted(t *testing.T, svc string, s composeService, containerPath string, v any) string {
	t.Helper()
	host, ok := hostPath(s, containerPath)
	if !ok {
		t.Fatalf("%s: %s is not inside a bind mount", svc, containerPath)
	}
	raw, err := os.ReadFile(host)
	if err != nil {
		t.Fatalf("%s: %s -> %s: %v", svc, containerPath, host, err)
	}
	if err := yaml.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %s: %v", svc, host, err)
	}
	return host
}

func TestComposeMetricsWiring(t *testing.T) {
	cf := loadCompose(t)
	prom, grafana := cf.service(t, svcPrometheus), cf.service(t, svcGrafana)

	for name, repo := range map[string]string{svcPrometheus: "prom/prometheus", svcGrafana: "grafana/grafana"} {
		img := interpolate(cf.Services[name].Image)
		gotRepo, tag, _ := strings.Cut(img, ":")
		if gotRepo != repo || !strings.ContainsAny(tag, "0123456789") || tag == "latest" {
			t.Errorf("%s: image %q, want %s pinned to a version", name, img, repo)
		}
		if !cf.Services[name].Healthcheck.effective() {
			t.Errorf("%s: no healthcheck", name)
		}
	}
	// The UIs are published on the host's loopback only: no auth protects Prometheus, and
	// Grafana lets anonymous viewers in.
	for name, port := range map[string]string{svcPrometheus: "9090", svcGrafana: "3000"} {
		s := cf.Services[name]
		if !publishes(s, port, port) {
			t.Errorf("%s: does not publish %s:%s; ports %+v", name, port, port, s.Ports)
		}
		checkLoopbackPorts(t, name, s)
	}
	if d, ok := grafana.DependsOn[svcPrometheus]; !ok || d.Condition != condHealthy {
		t.Errorf("grafana must wait for prometheus to be healthy")
	}

	// Every service with a metrics address listens on all its interfaces (the scraper is
	// another container) and is scraped there.
	ports := map[string]string{}
	for svc, env := range metricsEnv {
		addr := interpolate(cf.service(t, svc).Environment[env])
		host, port, err := net.SplitHostPort(addr)
		if err != nil || (host != "" && host != "0.0.0.0") {
			t.Errorf("%s: %s=%q, want 0.0.0.0:<port>", svc, env, addr)
			continue
		}
		ports[svc] = port
	}

	var pc prometheusConfig
	readMounted(t, svcPrometheus, prom, prometheusConfigPath, &pc)
	if !slices.Contains(prom.Command, "--config.file="+prometheusConfigPath) {
		t.Errorf("prometheus: command %v does not load %s", prom.Command, prometheusConfigPath)
	}
	scraped := map[string]bool{}
	checkTarget := func(job, host, port string) {
		if host == "localhost" || host == "127.0.0.1" {
			return // Prometheus itself
		}
		want, ok := ports[host]
		switch {
		case cf.Services[host].Image == "" && cf.Services[host].Build == nil:
			t.Errorf("prometheus job %s: target %s is not a compose service", job, host)
		case !ok:
			t.Errorf("prometheus job %s: service %s serves no metrics (no %v)", job, host, metricsEnv)
		case port != want:
			t.Errorf("prometheus job %s: scrapes %s:%s, but %s serves metrics on port %s", job, host, port, host, want)
		default:
			scraped[host] = true
		}
	}
	for _, sc := range pc.ScrapeConfigs {
		if p := sc.MetricsPath; p != "" && p != metrics.Path {
			t.Errorf("prometheus job %s: metrics_path %q, want %s", sc.JobName, p, metrics.Path)
		}
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				host, port, err := net.SplitHostPort(target)
				if err != nil {
					t.Errorf("prometheus job %s: target %q: %v", sc.JobName, target, err)
					continue
				}
				checkTarget(sc.JobName, host, port)
			}
		}
		for _, dns := range sc.DNSSDConfigs {
			if dns.Type != "A" {
				t.Errorf("prometheus job %s: dns_sd type %q, want A (one target per replica)", sc.JobName, dns.Type)
			}
			for _, name := range dns.Names {
				checkTarget(sc.JobName, name, strconv.Itoa(dns.Port))
			}
		}
	}
	for svc := range metricsEnv {
		if !scraped[svc] {
			t.Errorf("prometheus scrapes no %s target", svc)
		}
	}
	// The worker replicas are found by DNS, so that each one is scraped (a static worker:9464
	// would reach one replica at random).
	if !slices.ContainsFunc(pc.ScrapeConfigs, func(sc scrapeConfig) bool {
		return slices.ContainsFunc(sc.DNSSDConfigs, func(d dnsSDConfig) bool { return slices.Contains(d.Names, svcWorker) })
	}) {
		t.Errorf("prometheus: the workers must be scraped through dns_sd_configs (names: [%s])", svcWorker)
	}

	// Grafana: the data source reaches the prometheus service on the port it listens on.
	var ds struct {
		Datasources []struct {
			Name, Type, URL, UID string
			IsDefault            bool `yaml:"isDefault"`
		} `yaml:"datasources"`
	}
	readMounted(t, svcGrafana, grafana, grafanaProvisioning+"/datasources/prometheus.yml", &ds)
	if len(ds.Datasources) != 1 {
		t.Fatalf("grafana: want one provisioned data source, got %+v", ds.Datasources)
	}
	src := ds.Datasources[0]
	u, err := url.Parse(src.URL)
	if err != nil || src.Type != "prometheus" || u.Hostname() != svcPrometheus || u.Port() != "9090" || !src.IsDefault {
		t.Errorf("grafana data source %+v: want the default, of type prometheus, at http://%s:9090", src, svcPrometheus)
	}

	// The dashboards provider loads the mounted dashboards directory.
	var prov struct {
		Providers []struct {
			Type    string
			Options struct{ Path string }
		} `yaml:"providers"`
	}
	readMounted(t, svcGrafana, grafana, grafanaProvisioning+"/dashboards/resurge.yml", &prov)
	if len(prov.Providers) != 1 || prov.Providers[0].Type != "file" {
		t.Fatalf("grafana: want one file dashboards provider, got %+v", prov.Providers)
	}
	dashDir := prov.Providers[0].Options.Path
	hostDir, ok := hostPath(grafana, dashDir)
	if !ok {
		t.Fatalf("grafana: the provider's path %s is not mounted", dashDir)
	}
	home := interpolate(grafana.Environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"])
	if path.Dir(home) != path.Clean(dashDir) {
		t.Errorf("grafana: home dashboard %q is not in the provisioned directory %s", home, dashDir)
	} else if _, err := os.Stat(filepath.Join(hostDir, path.Base(home))); err != nil {
		t.Errorf("grafana: home dashboard: %v", err)
	}
	boards, err := filepath.Glob(filepath.Join(hostDir, "*.json"))
	if err != nil || len(boards) < 2 {
		t.Fatalf("grafana: want the Resurge and the Temporal SDK dashboards in %s, got %v (%v)", hostDir, boards, err)
	}
	uids := map[string]string{}
	for _, b := range boards {
		d := loadDashboard(t, b)
		if other, dup := uids[d.UID]; dup || d.UID == "" || d.Title == "" {
			t.Errorf("%s: uid %q (also %s) and title %q: want a unique uid and a title", b, d.UID, other, d.Title)
		}
		uids[d.UID] = b
	}
}

// ---- dashboards ----

type dashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type panel struct {
	Title      string `json:"title"`
	Type       string `json:"type"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's
}

func loadDashboard(t *testing.T, file string) dashboard {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return d
}

// allPanels flattens rows.
func (d dashboard) allPanels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

func (d dashboard) exprs() []string {
	var out []string
	for _, p := range d.allPanels() {
		for _, tg := range p.Targets {
			out = append(out, tg.Expr)
		}
	}
	return out
}

// The Go SDK's metric names (go.temporal.io/sdk v1.50, without the temporal_ prefix) by kind,
// before the Prometheus naming scope adds _total to counters and _seconds to timers (which the
// worker serves as histograms).
var (
	sdkCounters = []string{
		"workflow_completed", "workflow_canceled", "workflow_failed", "workflow_continue_as_new",
		"workflow_task_queue_poll_empty", "workflow_task_queue_poll_succeed", "workflow_task_execution_failed",
		"workflow_task_no_completion", "activity_poll_no_task", "activity_execution_failed",
		"unregistered_activity_invocation", "activity_task_error", "local_activity_total", "local_activity_canceled",
		"local_activity_execution_cancelled", "local_activity_failed", "local_activity_execution_failed",
		"local_activity_error", "corrupted_signals", "worker_start", "poller_start", "request", "request_failure",
		"request_attempt", "long_request", "long_request_failure", "long_request_attempt",
		"request_resource_exhausted", "long_request_resource_exhausted", "sticky_cache_hit", "sticky_cache_miss",
		"sticky_cache_total_forced_eviction", "nexus_poll_no_task", "nexus_task_execution_failed",
	}
	sdkTimers = []string{
		"workflow_endtoend_latency", "workflow_task_replay_latency", "workflow_task_schedule_to_start_latency",
		"workflow_task_execution_latency", "activity_schedule_to_start_latency", "activity_execution_latency",
		"activity_succeed_endtoend_latency", "local_activity_execution_latency", "local_activity_succeed_endtoend_latency",
		"request_latency", "request_latency_attempt", "long_request_latency", "long_request_latency_attempt",
		"nexus_task_schedule_to_start_latency", "nexus_task_execution_latency", "nexus_task_endtoend_latency",
	}
	sdkGauges = []string{"worker_task_slots_available", "worker_task_slots_used", "num_pollers", "sticky_cache_size"}
	// The SDK's tag names: the labels of its series.
	sdkLabels = []string{"namespace", "task_queue", "workflow_type", "activity_type", "operation", "status_code",
		"worker_type", "client_name", "poller_type", "failure_reason", "nexus_service", "nexus_operation"}
)

// sdkSeries are the series names the worker serves for the SDK's metrics.
func sdkSeries() map[string]bool {
	out := map[string]bool{}
	for _, c := range sdkCounters {
		out["temporal_"+c+"_total"] = true
	}
	for _, tm := range sdkTimers {
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			out["temporal_"+tm+"_seconds"+suffix] = true
		}
	}
	for _, g := range sdkGauges {
		out["temporal_"+g] = true
	}
	return out
}

// resurgeSeries maps the series names of Resurge's metrics to their labels (le included for a
// histogram's buckets).
func resurgeSeries() map[string][]string {
	out := map[string][]string{}
	for _, m := range metrics.Catalogue {
		if m.Type != metrics.TypeHistogram {
			out[m.Name] = m.Labels
			continue
		}
		out[m.Name+"_bucket"] = append(slices.Clone(m.Labels), "le")
		out[m.Name+"_count"] = m.Labels
		out[m.Name+"_sum"] = m.Labels
	}
	return out
}

// runtimeSeries are the Go runtime's and the process's series that a worker's registry serves.
func runtimeSeries(t *testing.T) map[string]bool {
	t.Helper()
	reg, err := metrics.NewRegistry(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	fams, err := reg.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, f := range fams {
		if n := f.GetName(); strings.HasPrefix(n, "go_") || strings.HasPrefix(n, "process_") {
			out[n] = true
		}
	}
	return out
}

var (
	metricNameRE = regexp.MustCompile(`\b(?:resurge|temporal|process|go)_[a-zA-Z0-9_]+\b`)
	byRE         = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	selectorRE   = regexp.MustCompile(`\b((?:resurge|temporal)_[a-zA-Z0-9_]+)\s*\{([^}]*)\}`)
	matcherRE    = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
	variableRE   = regexp.MustCompile(`\$\{?([a-zA-Z_][a-zA-Z0-9_]*)`)
	selectorsRE  = regexp.MustCompile(`\{[^}]*\}`)
	spaceRE      = regexp.MustCompile(`\s+`)
)

// Labels Prometheus adds to every scraped series.
var scrapeLabels = []string{"instance", "job"}

func TestComposeDashboardsQueryExportedMetrics(t *testing.T) {
	files, err := filepath.Glob(filepath.FromSlash("deploy/grafana/dashboards/*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in deploy/grafana/dashboards: %v", err)
	}
	sdk, rs, runtime := sdkSeries(), resurgeSeries(), runtimeSeries(t)
	queried := map[string]bool{}
	var resurgeBoard *dashboard
	for _, file := range files {
		d := loadDashboard(t, file)
		vars := map[string]bool{"__rate_interval": true, "__range": true, "__interval": true}
		for _, v := range d.Templating.List {
			vars[v.Name] = true
			if v.Type == "datasource" && v.Query != "prometheus" {
				t.Errorf("%s: datasource variable %q selects %v, want prometheus", file, v.Name, v.Query)
			}
		}
		if !vars["datasource"] {
			t.Errorf("%s: no datasource variable", file)
		}
		for _, p := range d.allPanels() {
			if p.Type == "row" {
				continue
			}
			if p.Datasource == nil || p.Datasource.Type != "prometheus" || (p.Datasource.UID != "${datasource}" && p.Datasource.UID != "prometheus") {
				t.Errorf("%s: panel %q: data source %+v, want the prometheus one (${datasource})", file, p.Title, p.Datasource)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q queries nothing", file, p.Title)
			}
		}
		for _, expr := range d.exprs() {
			for _, v := range variableRE.FindAllStringSubmatch(expr, -1) {
				if !vars[v[1]] {
					t.Errorf("%s: %q uses $%s, which the dashboard does not define", file, expr, v[1])
				}
			}
			labels := slices.Clone(scrapeLabels)
			for _, name := range metricNameRE.FindAllString(expr, -1) {
				queried[name] = true
				switch {
				case rs[name] != nil:
					labels = append(labels, rs[name]...)
				case sdk[name]:
					labels = append(labels, sdkLabels...)
					labels = append(labels, "le")
				case runtime[name]:
				default:
					t.Errorf("%s: %q queries %s, which a worker does not serve (not in metrics.Catalogue, the SDK's names or the Go runtime's)", file, expr, name)
				}
			}
			for _, by := range byRE.FindAllStringSubmatch(expr, -1) {
				for _, l := range strings.Split(by[1], ",") {
					if l = strings.TrimSpace(l); l != "" && !slices.Contains(labels, l) {
						t.Errorf("%s: %q groups by %q, which none of its metrics has", file, expr, l)
					}
				}
			}
			for _, sel := range selectorRE.FindAllStringSubmatch(expr, -1) {
				own, ok := rs[sel[1]]
				if !ok {
					continue
				}
				for _, m := range matcherRE.FindAllStringSubmatch(sel[2], -1) {
					if !slices.Contains(own, m[1]) && !slices.Contains(scrapeLabels, m[1]) {
						t.Errorf("%s: %q selects %s by %q, which is not one of its labels %v", file, expr, sel[1], m[1], own)
					}
				}
			}
		}
		if d.UID == "resurge" {
			resurgeBoard = &d
		}
	}

	// The Resurge board shows actions, decisions, the lock (read as CurrentLockQuery reads it)
	// and the score distribution.
	if resurgeBoard == nil {
		t.Fatal("no dashboard with uid resurge")
	}
	for _, name := range []string{metrics.ActionsTotal, metrics.ArbitrationDecisionsTotal, metrics.ArbiterLockActive, metrics.StagnationScore + "_bucket"} {
		if !slices.ContainsFunc(resurgeBoard.exprs(), func(e string) bool { return slices.Contains(metricNameRE.FindAllString(e, -1), name) }) {
			t.Errorf("the Resurge dashboard does not show %s", name)
		}
	}
	normal := func(e string) string { return spaceRE.ReplaceAllString(selectorsRE.ReplaceAllString(e, ""), " ") }
	if !slices.ContainsFunc(resurgeBoard.exprs(), func(e string) bool { return normal(e) == normal(metrics.CurrentLockQuery) }) {
		t.Errorf("the Resurge dashboard does not read the lock with metrics.CurrentLockQuery (%s)", metrics.CurrentLockQuery)
	}
	// The SDK board reads the SDK's main series.
	for _, name := range []string{"temporal_request_total", "temporal_workflow_task_execution_latency_seconds_bucket",
		"temporal_activity_execution_latency_seconds_bucket", "temporal_sticky_cache_size", "temporal_worker_task_slots_available"} {
		if !queried[name] {
			t.Errorf("no dashboard queries %s", name)
		}
	}
}
