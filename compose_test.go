package resurge_test

// Static checks of the deployment files at the repo root: docker-compose.yml, the scripts under
// deploy/ that its one-shot jobs run, and the Dockerfile. Nothing here needs Docker: the files are
// parsed and checked against what the code expects (service wiring, start order, ports, the
// search attributes of workflows.SearchAttributeNames, no hard-coded secrets).

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"resurge/workflows"
)

const (
	composePath    = "docker-compose.yml"
	dockerfilePath = "Dockerfile"
	simMainPath    = "platform/sim/cmd/resurge-sim/main.go"
)

// Service names the rest of the checks refer to.
const (
	svcPostgres = "postgresql"
	svcSchema   = "temporal-schema"
	svcTemporal = "temporal"
	svcSetup    = "temporal-setup"
	svcUI       = "temporal-ui"
	svcSim      = "sim"
	svcWorker   = "worker"
)

// depends_on conditions.
const (
	condHealthy   = "service_healthy"
	condCompleted = "service_completed_successfully"
	condStarted   = "service_started"
)

// ---- typed view of the compose file (only the keys the checks use) ----

type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string       `yaml:"image"`
	Build       *buildSpec   `yaml:"build"`
	Environment envMap       `yaml:"environment"`
	DependsOn   dependsOn    `yaml:"depends_on"`
	Ports       []portSpec   `yaml:"ports"`
	Healthcheck *healthcheck `yaml:"healthcheck"`
	Volumes     []volumeSpec `yaml:"volumes"`
	Entrypoint  shellCommand `yaml:"entrypoint"`
	Command     shellCommand `yaml:"command"`
	Restart     string       `yaml:"restart"`
}

// buildSpec is `build: ./dir` or `build: {context, dockerfile, target}`.
type buildSpec struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
	Target     string `yaml:"target"`
}

func (b *buildSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		b.Context = n.Value
		return nil
	}
	type plain buildSpec
	return n.Decode((*plain)(b))
}

// envMap is `environment:` in either form: a mapping, or a list of KEY=VALUE.
type envMap map[string]string

func (e *envMap) UnmarshalYAML(n *yaml.Node) error {
	m := envMap{}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = n.Content[i+1].Value // null -> ""
		}
	case yaml.SequenceNode:
		for _, item := range n.Content {
			k, v, _ := strings.Cut(item.Value, "=")
			m[k] = v
		}
	default:
		return fmt.Errorf("line %d: environment must be a mapping or a list", n.Line)
	}
	*e = m
	return nil
}

// dependsOn maps a dependency to its condition; the short (list) form gives an empty condition,
// which the checks reject.
type dependsOn map[string]dependency

type dependency struct {
	Condition string `yaml:"condition"`
	Restart   bool   `yaml:"restart"`
	Required  *bool  `yaml:"required"`
}

func (d *dependsOn) UnmarshalYAML(n *yaml.Node) error {
	m := dependsOn{}
	switch n.Kind {
	case yaml.SequenceNode:
		for _, item := range n.Content {
			m[item.Value] = dependency{}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			var dep dependency
			if err := n.Content[i+1].Decode(&dep); err != nil {
				return err
			}
			m[n.Content[i].Value] = dep
		}
	default:
		return fmt.Errorf("line %d: depends_on must be a mapping or a list", n.Line)
	}
	*d = m
	return nil
}

// portSpec is a published port in short ("[ip:]host:container[/proto]") or long form.
type portSpec struct {
	HostIP    string // "" publishes on every interface of the host
	Published string
	Target    string
}

func (p *portSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		var long struct {
			HostIP    string `yaml:"host_ip"`
			Target    string `yaml:"target"`
			Published string `yaml:"published"`
		}
		if err := n.Decode(&long); err != nil {
			return err
		}
		p.HostIP, p.Target, p.Published = long.HostIP, long.Target, long.Published
		return nil
	}
	spec, _, _ := strings.Cut(n.Value, "/")
	parts := strings.Split(spec, ":")
	p.Target = parts[len(parts)-1]
	if len(parts) >= 2 {
		p.Published = parts[len(parts)-2]
	}
	if len(parts) >= 3 {
		p.HostIP = strings.Join(parts[:len(parts)-2], ":")
	}
	return nil
}

// volumeSpec is a mount in short ("source:target[:mode]") or long form.
type volumeSpec struct {
	Source string
	Target string
}

func (v *volumeSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		var long struct {
			Source string `yaml:"source"`
			Target string `yaml:"target"`
		}
		if err := n.Decode(&long); err != nil {
			return err
		}
		v.Source, v.Target = long.Source, long.Target
		return nil
	}
	parts := strings.Split(n.Value, ":")
	if len(parts) == 1 {
		v.Target = parts[0]
		return nil
	}
	v.Source, v.Target = parts[0], parts[1]
	return nil
}

// isBind reports whether the mount's source is a path (relative or absolute), not a named volume.
func (v volumeSpec) isBind() bool {
	return strings.HasPrefix(v.Source, ".") || strings.HasPrefix(v.Source, "/")
}

// shellCommand is entrypoint / command / healthcheck test: a string or a list of words.
type shellCommand []string

func (c *shellCommand) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*c = shellCommand{n.Value}
		return nil
	case yaml.SequenceNode:
		var words []string
		if err := n.Decode(&words); err != nil {
			return err
		}
		*c = words
		return nil
	}
	return fmt.Errorf("line %d: expected a string or a list", n.Line)
}

type healthcheck struct {
	Test    shellCommand `yaml:"test"`
	Disable bool         `yaml:"disable"`
}

// effective reports whether the healthcheck really checks something.
func (h *healthcheck) effective() bool {
	if h == nil || h.Disable || len(h.Test) == 0 {
		return false
	}
	switch h.Test[0] {
	case "NONE":
		return false
	case "CMD", "CMD-SHELL":
		return len(h.Test) > 1 && strings.TrimSpace(strings.Join(h.Test[1:], " ")) != ""
	}
	return strings.TrimSpace(strings.Join(h.Test, " ")) != ""
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	raw, err := os.ReadFile(composePath)
	if err != nil {
		t.Fatalf("read %s: %v", composePath, err)
	}
	var cf composeFile
	if err := yaml.Unmarshal(raw, &cf); err != nil {
		t.Fatalf("parse %s: %v", composePath, err)
	}
	if len(cf.Services) == 0 {
		t.Fatalf("%s has no services", composePath)
	}
	return cf
}

func (cf composeFile) service(t *testing.T, name string) composeService {
	t.Helper()
	s, ok := cf.Services[name]
	if !ok {
		t.Fatalf("%s: no service %q", composePath, name)
	}
	return s
}

// interpolate resolves compose variable substitution the way `docker compose` does with an empty
// environment: ${VAR:-default} and ${VAR-default} give the default, other ${VAR...} forms and $VAR
// give "", and $$ is a literal $.
func interpolate(s string) string {
	return interpolationRE.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		sub := interpolationRE.FindStringSubmatch(m)
		if op := sub[2]; op == "-" || op == ":-" {
			return sub[3]
		}
		return ""
	})
}

// interpolationRE submatches: 1 name, 2 operator, 3 operand (braced form); 4 name ($VAR form).
var interpolationRE = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-|:?\?|:?\+)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// ---- tests ----

func TestComposeServicesImagesAndPorts(t *testing.T) {
	cf := loadCompose(t)

	for _, name := range []string{svcPostgres, svcSchema, svcTemporal, svcSetup, svcUI, svcSim, svcWorker} {
		if _, ok := cf.Services[name]; !ok {
			t.Errorf("missing service %q", name)
		}
	}

	// Images: the official ones, pinned to a version.
	wantImage := map[string]string{
		svcPostgres: "postgres",
		svcSchema:   "temporalio/admin-tools",
		svcTemporal: "temporalio/server",
		svcSetup:    "temporalio/admin-tools",
		svcUI:       "temporalio/ui",
	}
	for name, repo := range wantImage {
		img := interpolate(cf.Services[name].Image)
		gotRepo, tag, ok := strings.Cut(img, ":")
		if gotRepo != repo {
			t.Errorf("%s: image %q, want %s:<version>", name, img, repo)
			continue
		}
		if !ok || tag == "latest" || !strings.ContainsAny(tag, "0123456789") {
			t.Errorf("%s: image %q is not pinned to a version", name, img)
		}
	}
	// The schema tool and the server must be the same Temporal release.
	if s, a := imageTag(cf.Services[svcTemporal].Image), imageTag(cf.Services[svcSchema].Image); s != a {
		t.Errorf("temporalio/server tag %q != temporalio/admin-tools tag %q (schema and server must match)", s, a)
	}

	// Our services are built from the repo's Dockerfile, each from its own target.
	for name, target := range map[string]string{svcSim: "sim", svcWorker: "worker"} {
		b := cf.Services[name].Build
		if b == nil || b.Target != target {
			t.Errorf("%s: want build target %q, got %+v", name, target, b)
		}
	}

	// Published ports (host:container).
	for name, port := range map[string]string{svcTemporal: "7233", svcUI: "8080", svcSim: "8090"} {
		if !publishes(cf.Services[name], port, port) {
			t.Errorf("%s: does not publish %s:%s; ports %+v", name, port, port, cf.Services[name].Ports)
		}
	}
	// Every published port is on the host's loopback: the frontend, the Web UI, the sim's API
	// (its token is in this file) and the dashboards have no authentication of their own.
	for name, s := range cf.Services {
		checkLoopbackPorts(t, name, s)
	}

	// Every bind mount's source exists in the repo (scripts, dynamic config).
	for name, s := range cf.Services {
		for _, v := range s.Volumes {
			if !v.isBind() {
				if _, ok := cf.Volumes[v.Source]; v.Source != "" && !ok {
					t.Errorf("%s: volume %q is not declared under top-level volumes", name, v.Source)
				}
				continue
			}
			if _, err := os.Stat(filepath.FromSlash(v.Source)); err != nil {
				t.Errorf("%s: bind mount source %q: %v", name, v.Source, err)
			}
		}
	}
}

func imageTag(image string) string {
	_, tag, _ := strings.Cut(interpolate(image), ":")
	return tag
}

// checkLoopbackPorts reports every port s publishes on other than a loopback address.
func checkLoopbackPorts(t *testing.T, name string, s composeService) {
	t.Helper()
	for _, p := range s.Ports {
		if ip := net.ParseIP(interpolate(p.HostIP)); ip == nil || !ip.IsLoopback() {
			t.Errorf("%s: port %s is published on %q, want the loopback (127.0.0.1:%s:%s)", name, p.Target, p.HostIP, p.Published, p.Target)
		}
	}
}

func publishes(s composeService, published, target string) bool {
	for _, p := range s.Ports {
		if interpolate(p.Published) == published && interpolate(p.Target) == target {
			return true
		}
	}
	return false
}

func TestComposeStartOrder(t *testing.T) {
	cf := loadCompose(t)

	// Every dependency names a service and waits on an explicit condition.
	for name, s := range cf.Services {
		for dep, d := range s.DependsOn {
			if _, ok := cf.Services[dep]; !ok {
				t.Errorf("%s depends on unknown service %q", name, dep)
			}
			switch d.Condition {
			case condHealthy, condCompleted, condStarted:
			case "":
				t.Errorf("%s -> %s: depends_on without a condition", name, dep)
			default:
				t.Errorf("%s -> %s: unknown condition %q", name, dep, d.Condition)
			}
			if d.Required != nil && !*d.Required {
				t.Errorf("%s -> %s: dependency must be required", name, dep)
			}
		}
	}

	want := []struct{ svc, dep, cond string }{
		{svcSchema, svcPostgres, condHealthy},
		{svcTemporal, svcSchema, condCompleted},
		{svcSetup, svcTemporal, condHealthy},
		{svcUI, svcTemporal, condHealthy},
		{svcWorker, svcSetup, condCompleted},
		{svcWorker, svcSim, condHealthy},
	}
	for _, w := range want {
		got, ok := cf.Services[w.svc].DependsOn[w.dep]
		if !ok {
			t.Errorf("%s must depend on %s (%s)", w.svc, w.dep, w.cond)
		} else if got.Condition != w.cond {
			t.Errorf("%s -> %s: condition %q, want %q", w.svc, w.dep, got.Condition, w.cond)
		}
	}

	// What others wait on as healthy has a healthcheck; what they wait on as completed is a
	// one-shot job (a job restarted forever never completes).
	for name, s := range cf.Services {
		for dep, d := range s.DependsOn {
			target, ok := cf.Services[dep]
			if !ok {
				continue
			}
			switch d.Condition {
			case condHealthy:
				if !target.Healthcheck.effective() {
					t.Errorf("%s waits for %s to be healthy, but %s has no healthcheck", name, dep, dep)
				}
			case condCompleted:
				if r := target.Restart; r == "always" || r == "unless-stopped" {
					t.Errorf("%s waits for %s to complete, but %s has restart: %s", name, dep, dep, r)
				}
				if len(target.Entrypoint) == 0 && len(target.Command) == 0 {
					t.Errorf("one-shot job %s has no entrypoint or command", dep)
				}
			}
		}
	}

	if cycle := dependencyCycle(cf); cycle != nil {
		t.Errorf("depends_on cycle: %s", strings.Join(cycle, " -> "))
	}
}

// dependencyCycle returns a depends_on cycle, or nil.
func dependencyCycle(cf composeFile) []string {
	const (
		unvisited = iota
		inProgress
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(string) []string
	visit = func(n string) []string {
		switch state[n] {
		case inProgress:
			i := slices.Index(stack, n)
			return append(slices.Clone(stack[i:]), n)
		case done:
			return nil
		}
		state[n] = inProgress
		stack = append(stack, n)
		deps := make([]string, 0, len(cf.Services[n].DependsOn))
		for d := range cf.Services[n].DependsOn {
			deps = append(deps, d)
		}
		slices.Sort(deps)
		for _, d := range deps {
			if c := visit(d); c != nil {
				return c
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
		return nil
	}
	names := make([]string, 0, len(cf.Services))
	for n := range cf.Services {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if c := visit(n); c != nil {
			return c
		}
	}
	return nil
}

func TestComposeTemporalServer(t *testing.T) {
	cf := loadCompose(t)
	temporal := cf.service(t, svcTemporal)
	env := temporal.Environment

	if strings.Contains(temporal.Image, "auto-setup") {
		t.Errorf("temporal: image %q: the auto-setup image is deprecated; the schema job does the setup", temporal.Image)
	}
	for _, k := range []string{"AUTO_SETUP", "SKIP_SCHEMA_SETUP"} {
		if _, ok := env[k]; ok {
			t.Errorf("temporal: %s is set, but the schema comes from %s", k, svcSchema)
		}
	}
	wantEnv := map[string]string{
		"DB":             "postgres12",
		"POSTGRES_SEEDS": svcPostgres,
		"BIND_ON_IP":     "0.0.0.0",
	}
	for k, want := range wantEnv {
		if got := interpolate(env[k]); got != want {
			t.Errorf("temporal: %s=%q, want %q", k, got, want)
		}
	}
	for _, k := range []string{"POSTGRES_USER", "POSTGRES_PWD", "DYNAMIC_CONFIG_FILE_PATH"} {
		if interpolate(env[k]) == "" {
			t.Errorf("temporal: %s is not set", k)
		}
	}
	// The server refuses to start without its dynamic config file: it must be mounted.
	dc := interpolate(env["DYNAMIC_CONFIG_FILE_PATH"])
	if host, ok := hostPath(temporal, dc); !ok {
		t.Errorf("temporal: DYNAMIC_CONFIG_FILE_PATH %q is not inside a bind mount", dc)
	} else if raw, err := os.ReadFile(host); err != nil {
		t.Errorf("temporal: dynamic config %q -> %s: %v", dc, host, err)
	} else if err := yaml.Unmarshal(raw, new(map[string]any)); err != nil {
		t.Errorf("temporal: dynamic config %s: %v", host, err)
	}

	// One set of database credentials: what PostgreSQL is started with is what the schema job
	// and the server log in with.
	pg, schemaSvc := cf.service(t, svcPostgres).Environment, cf.service(t, svcSchema).Environment
	for _, c := range []struct{ what, pg, schema, server string }{
		{"user", pg["POSTGRES_USER"], schemaSvc["SQL_USER"], env["POSTGRES_USER"]},
		{"password", pg["POSTGRES_PASSWORD"], schemaSvc["SQL_PASSWORD"], env["POSTGRES_PWD"]},
	} {
		if c.pg == "" || c.pg != c.schema || c.pg != c.server {
			t.Errorf("database %s differs: postgresql %q, %s %q, temporal %q", c.what, c.pg, svcSchema, c.schema, c.server)
		}
	}

	// The schema job prepares both databases with the postgres12 plugin.
	schema := cf.service(t, svcSchema)
	text := jobText(t, schema)
	for _, want := range []string{"temporal-sql-tool", "setup-schema", "update-schema", "postgres12", "temporal", "temporal_visibility"} {
		if !strings.Contains(text, want) {
			t.Errorf("%s: %q not found in its command, scripts or environment", svcSchema, want)
		}
	}
	for _, k := range []string{"DBNAME", "VISIBILITY_DBNAME"} {
		if v := interpolate(env[k]); v != "" && !strings.Contains(text, v) {
			t.Errorf("temporal uses %s=%q but %s never mentions it", k, v, svcSchema)
		}
	}
}

func TestComposeWorkerAndSimEnv(t *testing.T) {
	cf := loadCompose(t)
	worker := cf.service(t, svcWorker)
	sim := cf.service(t, svcSim)
	setup := cf.service(t, svcSetup)

	// The worker reaches the temporal service on its gRPC port.
	addr := interpolate(worker.Environment["TEMPORAL_ADDRESS"])
	host, port, _ := strings.Cut(addr, ":")
	if host != svcTemporal || port != "7233" {
		t.Errorf("worker: TEMPORAL_ADDRESS=%q, want %s:7233", addr, svcTemporal)
	}
	if got := interpolate(setup.Environment["TEMPORAL_ADDRESS"]); got != addr {
		t.Errorf("temporal-setup: TEMPORAL_ADDRESS=%q, worker uses %q", got, addr)
	}
	if got := interpolate(cf.service(t, svcUI).Environment["TEMPORAL_ADDRESS"]); got != addr {
		t.Errorf("temporal-ui: TEMPORAL_ADDRESS=%q, worker uses %q", got, addr)
	}
	// The worker runs in the namespace that the setup job creates.
	ns := interpolate(worker.Environment["TEMPORAL_NAMESPACE"])
	if ns == "" {
		ns = "default"
	}
	setupNS := interpolate(setup.Environment["TEMPORAL_NAMESPACE"])
	if setupNS == "" {
		setupNS = "default"
	}
	if ns != setupNS {
		t.Errorf("worker namespace %q != namespace %q prepared by temporal-setup", ns, setupNS)
	}

	// The worker reaches the sim by service name on the port the sim listens on.
	simURL := interpolate(worker.Environment["RESURGE_SIM_URL"])
	if want := "http://" + svcSim + ":8090"; strings.TrimSuffix(simURL, "/") != want {
		t.Errorf("worker: RESURGE_SIM_URL=%q, want %s", simURL, want)
	}
	if got := interpolate(sim.Environment["RESURGE_SIM_ADDR"]); got != "0.0.0.0:8090" && got != ":8090" {
		t.Errorf("sim: RESURGE_SIM_ADDR=%q, want 0.0.0.0:8090", got)
	}
	// The sim's healthcheck asks GET /healthz: directly, or through `resurge-sim --healthcheck`
	// (which must then exist in the sim's command).
	if sim.Healthcheck != nil {
		test := strings.Join(sim.Healthcheck.Test, " ")
		switch {
		case strings.Contains(test, "/healthz"):
		case strings.Contains(test, "resurge-sim") && strings.Contains(test, "--healthcheck"):
			src, err := os.ReadFile(filepath.FromSlash(simMainPath))
			if err != nil {
				t.Errorf("sim healthcheck uses --healthcheck: %v", err)
			} else if !strings.Contains(string(src), `"healthcheck"`) || !strings.Contains(string(src), "/healthz") {
				t.Errorf("sim healthcheck uses --healthcheck, but %s has no such flag probing /healthz", simMainPath)
			}
		default:
			t.Errorf("sim: healthcheck %q neither queries /healthz nor runs resurge-sim --healthcheck", test)
		}
	}

	// A sim state file must live on a volume, or a restarted sim forgets the posts that
	// Temporal still remembers.
	if f := interpolate(sim.Environment["RESURGE_SIM_STATE_FILE"]); f != "" {
		dir := path.Dir(f)
		if !slices.ContainsFunc(sim.Volumes, func(v volumeSpec) bool { return path.Clean(v.Target) == dir }) {
			t.Errorf("sim: RESURGE_SIM_STATE_FILE=%q but nothing is mounted at %s", f, dir)
		}
	}

	// Both sides of the bearer token come from the same variable.
	wt, st := worker.Environment["RESURGE_SIM_TOKEN"], sim.Environment["RESURGE_SIM_TOKEN"]
	if wt == "" || wt != st {
		t.Errorf("RESURGE_SIM_TOKEN: worker %q, sim %q: want the same ${RESURGE_SIM_TOKEN...}", wt, st)
	}
	for _, k := range []string{"RESURGE_LOG_LEVEL"} {
		v := interpolate(worker.Environment[k])
		if v != "" && !slices.Contains([]string{"debug", "info", "warn", "error"}, v) {
			t.Errorf("worker: %s=%q, want debug|info|warn|error", k, v)
		}
	}
}

// secretKeyRE matches environment variable names that hold secrets.
var secretKeyRE = regexp.MustCompile(`(?i)(TOKEN|PASSWORD|PASSWD|PWD|SECRET|API_KEY|APIKEY|PRIVATE_KEY)`)

// substitutionRE matches a value that is exactly one compose substitution: ${VAR}, ${VAR:-x},
// ${VAR-x}, ${VAR:?msg}, ${VAR?msg}.
var substitutionRE = regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*(?:(?::?-|:?\?)[^}]*)?\}$`)

// inlineSecretRE matches a secret assigned inline in a command (TOKEN=..., PASSWORD=...).
var inlineSecretRE = regexp.MustCompile(`(?i)[A-Z_]*(TOKEN|PASSWORD|PWD|SECRET)[A-Z_]*=`)

func TestComposeNoHardCodedSecrets(t *testing.T) {
	cf := loadCompose(t)
	for name, s := range cf.Services {
		for k, v := range s.Environment {
			if secretKeyRE.MatchString(k) && !substitutionRE.MatchString(v) {
				t.Errorf("%s: %s=%q is hard-coded; use ${%s:-default} and supply the real value from .env / a secret", name, k, v, k)
			}
		}
		for _, c := range [][]string{s.Entrypoint, s.Command} {
			if m := inlineSecretRE.FindString(strings.Join(c, " ")); m != "" {
				t.Errorf("%s: command sets %s inline; pass secrets through environment substitution", name, m)
			}
		}
	}
	for _, name := range []string{svcSim, svcWorker} {
		if _, ok := cf.service(t, name).Environment["RESURGE_SIM_TOKEN"]; !ok {
			t.Errorf("%s: RESURGE_SIM_TOKEN is not set", name)
		}
	}
}

// ---- search attributes ----

// saFlag is one `--name X --type T` pair of a command.
type saFlag struct {
	Name, Type string
	Line       int
}

// searchAttributeFlags returns every --name/--type pair of the shell text, pairing the i-th
// --name of a command with its i-th --type (as `temporal operator search-attribute create` does).
// Comment lines are skipped; backslash-continued lines form one command.
func searchAttributeFlags(script string) ([]saFlag, error) {
	var out []saFlag
	var errs []error
	lines := strings.Split(strings.ReplaceAll(script, "\\\n", " "), "\n")
	for i, line := range lines {
		var names, types []string
		words := strings.Fields(line)
		for j := 0; j < len(words); j++ {
			w := words[j]
			if strings.HasPrefix(w, "#") {
				break // comment
			}
			flag, value, hasValue := strings.Cut(w, "=")
			if flag != "--name" && flag != "--type" {
				continue
			}
			if !hasValue {
				if j+1 >= len(words) {
					errs = append(errs, fmt.Errorf("line %d: %s without a value", i+1, flag))
					continue
				}
				j++
				value = words[j]
			}
			value = strings.Trim(value, `"'`)
			if flag == "--name" {
				names = append(names, value)
			} else {
				types = append(types, value)
			}
		}
		if len(names) != len(types) {
			errs = append(errs, fmt.Errorf("line %d: %d --name but %d --type: %q", i+1, len(names), len(types), strings.TrimSpace(line)))
			continue
		}
		for k := range names {
			if strings.ContainsAny(names[k], "$`") {
				errs = append(errs, fmt.Errorf("line %d: search attribute name %q is not literal", i+1, names[k]))
			}
			out = append(out, saFlag{Name: names[k], Type: types[k], Line: i + 1})
		}
	}
	return out, errors.Join(errs...)
}

func TestComposeSearchAttributesMatchCode(t *testing.T) {
	cf := loadCompose(t)
	setup := cf.service(t, svcSetup)
	text := jobText(t, setup)
	if !strings.Contains(text, "search-attribute create") {
		t.Fatalf("%s: no `temporal operator search-attribute create` in its command or scripts", svcSetup)
	}
	if !strings.Contains(text, "namespace create") {
		t.Errorf("%s: does not create the namespace", svcSetup)
	}

	flags, err := searchAttributeFlags(text)
	if err != nil {
		t.Errorf("%s: %v", svcSetup, err)
	}
	got := map[string]string{}
	for _, f := range flags {
		if prev, dup := got[f.Name]; dup {
			t.Errorf("%s: search attribute %s registered twice (%s, %s)", svcSetup, f.Name, prev, f.Type)
		}
		got[f.Name] = f.Type
		if f.Type != "Keyword" {
			t.Errorf("%s: search attribute %s has type %q, want Keyword", svcSetup, f.Name, f.Type)
		}
	}
	for _, name := range workflows.SearchAttributeNames {
		if _, ok := got[name]; !ok {
			t.Errorf("%s: does not register search attribute %s (in workflows.SearchAttributeNames)", svcSetup, name)
		}
	}
	for name := range got {
		if !slices.Contains(workflows.SearchAttributeNames, name) {
			t.Errorf("%s: registers search attribute %s, which is not in workflows.SearchAttributeNames", svcSetup, name)
		}
	}
	if len(workflows.SearchAttributeNames) == 0 {
		t.Error("workflows.SearchAttributeNames is empty")
	}
}

func TestComposeSearchAttributeParser(t *testing.T) {
	script := `#!/bin/sh
# comment: --name Ignored --type Text
add --name A --type Keyword
temporal operator search-attribute create --name B --type Keyword --name C --type Int \
	--namespace default
x --name=D --type="Keyword"
`
	flags, err := searchAttributeFlags(script)
	if err != nil {
		t.Fatal(err)
	}
	want := []saFlag{{"A", "Keyword", 3}, {"B", "Keyword", 4}, {"C", "Int", 4}, {"D", "Keyword", 5}}
	if !slices.Equal(flags, want) {
		t.Errorf("got %+v, want %+v", flags, want)
	}
	for _, bad := range []string{"x --name A\n", "x --name $N --type Keyword\n", "x --type Keyword\n"} {
		if _, err := searchAttributeFlags(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

// jobText returns what a job runs: its entrypoint and command, the scripts among their words that
// live in a bind mount of the repo, and its environment values (interpolated).
func jobText(t *testing.T, s composeService) string {
	t.Helper()
	var b strings.Builder
	words := append(slices.Clone(s.Entrypoint), s.Command...)
	for _, w := range words {
		b.WriteString(w)
		b.WriteByte('\n')
	}
	seen := map[string]bool{}
	for _, w := range words {
		for _, f := range strings.Fields(w) {
			host, ok := hostPath(s, f)
			if !ok || seen[host] {
				continue
			}
			seen[host] = true
			info, err := os.Stat(host)
			if err != nil {
				t.Errorf("%s (mounted as %s): %v", host, f, err)
				continue
			}
			if info.IsDir() {
				continue
			}
			raw, err := os.ReadFile(host)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(raw)
			b.WriteByte('\n')
		}
	}
	for _, v := range s.Environment {
		b.WriteString(interpolate(v))
		b.WriteByte('\n')
	}
	return b.String()
}

// hostPath maps a path inside the container to the repo file a bind mount puts there.
func hostPath(s composeService, containerPath string) (string, bool) {
	containerPath = path.Clean(containerPath)
	for _, v := range s.Volumes {
		if !v.isBind() || !strings.HasPrefix(v.Source, ".") {
			continue
		}
		target := path.Clean(v.Target)
		if containerPath == target {
			return filepath.FromSlash(v.Source), true
		}
		if rest, ok := strings.CutPrefix(containerPath, target+"/"); ok {
			return filepath.Join(filepath.FromSlash(v.Source), filepath.FromSlash(rest)), true
		}
	}
	return "", false
}

// ---- Dockerfile ----

type dockerStage struct {
	Base, Name string
	Lines      []string // instructions of the stage, continuation lines joined
}

// parseDockerfile splits the Dockerfile into stages. Continuation lines are joined, comments
// dropped, and ARG defaults declared before the first FROM are substituted into the FROM images.
func parseDockerfile(t *testing.T) []dockerStage {
	t.Helper()
	raw, err := os.ReadFile(dockerfilePath)
	if err != nil {
		t.Fatalf("read %s: %v", dockerfilePath, err)
	}
	var instructions []string
	var cur strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		if c, ok := strings.CutSuffix(trimmed, "\\"); ok {
			cur.WriteString(c + " ")
			continue
		}
		cur.WriteString(trimmed)
		if l := strings.TrimSpace(cur.String()); l != "" {
			instructions = append(instructions, l)
		}
		cur.Reset()
	}
	if l := strings.TrimSpace(cur.String()); l != "" {
		instructions = append(instructions, l)
	}

	globalArgs := map[string]string{}
	var stages []dockerStage
	for _, line := range instructions {
		fields := strings.Fields(line)
		switch {
		case strings.EqualFold(fields[0], "ARG") && len(stages) == 0 && len(fields) >= 2:
			k, v, _ := strings.Cut(fields[1], "=")
			globalArgs[k] = strings.Trim(v, `"'`)
		case strings.EqualFold(fields[0], "FROM"):
			var args []string
			for _, f := range fields[1:] {
				if !strings.HasPrefix(f, "--") {
					args = append(args, f)
				}
			}
			st := dockerStage{}
			if len(args) > 0 {
				st.Base = os.Expand(args[0], func(k string) string { return globalArgs[k] })
			}
			if len(args) == 3 && strings.EqualFold(args[1], "AS") {
				st.Name = args[2]
			}
			stages = append(stages, st)
		case len(stages) > 0:
			stages[len(stages)-1].Lines = append(stages[len(stages)-1].Lines, line)
		}
	}
	return stages
}

// copyAllRE matches `COPY . <dest>` (the whole build context), with optional --flags.
var copyAllRE = regexp.MustCompile(`^COPY\s+(--\S+\s+)*\.\s+\S+$`)

func TestComposeDockerfile(t *testing.T) {
	stages := parseDockerfile(t)
	if len(stages) < 3 {
		t.Fatalf("%s: %d stages, want a multi-stage build (builder + worker + sim)", dockerfilePath, len(stages))
	}
	byName := map[string]dockerStage{}
	for _, s := range stages {
		if s.Name != "" {
			byName[s.Name] = s
		}
	}

	// Every build target of the compose file exists.
	cf := loadCompose(t)
	for name, s := range cf.Services {
		if s.Build == nil {
			continue
		}
		if df := s.Build.Dockerfile; df != "" && df != dockerfilePath {
			t.Errorf("%s: builds from %s; these checks cover %s", name, df, dockerfilePath)
		}
		if _, ok := byName[s.Build.Target]; !ok {
			t.Errorf("%s: build target %q is not a stage of %s", name, s.Build.Target, dockerfilePath)
		}
	}

	// The builder: Go 1.26, dependencies downloaded before the sources are copied, static builds
	// of the three binaries.
	var builder *dockerStage
	for i := range stages {
		if strings.HasPrefix(stages[i].Base, "golang:") {
			builder = &stages[i]
			break
		}
	}
	if builder == nil {
		t.Fatalf("%s: no golang:* builder stage", dockerfilePath)
	}
	if !strings.HasPrefix(builder.Base, "golang:1.26") {
		t.Errorf("builder image %q is not Go 1.26 (go.mod's go directive)", builder.Base)
	}
	download, copyAll, build := -1, -1, ""
	for i, l := range builder.Lines {
		switch {
		case strings.HasPrefix(l, "RUN") && strings.Contains(l, "go mod download") && download < 0:
			download = i
		case strings.HasPrefix(l, "COPY") && copyAllRE.MatchString(l) && copyAll < 0:
			copyAll = i
		case strings.HasPrefix(l, "RUN") && strings.Contains(l, "go build"):
			build += l + "\n"
		}
	}
	if download < 0 || copyAll < 0 || download > copyAll {
		t.Errorf("builder: want `RUN go mod download` before `COPY . .` (download at %d, copy at %d)", download, copyAll)
	}
	for _, want := range []string{"CGO_ENABLED=0", "./worker", "./starter", "./platform/sim/cmd/resurge-sim"} {
		if !strings.Contains(build, want) {
			t.Errorf("builder: go build does not include %s", want)
		}
	}

	// Runtime targets: not the builder image, non-root, the right binaries.
	for target, bins := range map[string][]string{"worker": {"worker", "starter"}, "sim": {"resurge-sim"}} {
		st, ok := byName[target]
		if !ok {
			t.Errorf("%s: no stage %q", dockerfilePath, target)
			continue
		}
		if strings.HasPrefix(st.Base, "golang:") {
			t.Errorf("target %s: runs on the Go toolchain image %s", target, st.Base)
		}
		user := ""
		text := strings.Join(st.Lines, "\n")
		for _, l := range st.Lines {
			if f := strings.Fields(l); len(f) >= 2 && strings.EqualFold(f[0], "USER") {
				user = f[1]
			}
		}
		if u, _, _ := strings.Cut(user, ":"); u == "" || u == "root" || u == "0" {
			if !strings.HasSuffix(st.Base, ":nonroot") {
				t.Errorf("target %s: runs as root (USER %q)", target, user)
			}
		}
		for _, bin := range bins {
			if !strings.Contains(text, "/"+bin) {
				t.Errorf("target %s: binary %s is not copied in", target, bin)
			}
		}
	}
}
