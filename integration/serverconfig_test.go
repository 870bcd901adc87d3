package integration

import (
	"os"
	"regexp"
	"testing"

	"go.temporal.io/server/common/config"
	"gopkg.in/yaml.v3"
)

// The production topology (production/) runs the Temporal server binary with
// deploy/temporal-server.yaml. That file must configure the server as the temporalio/server
// image does from the environment docker-compose.yml gives it: the image renders the server's
// embedded template. This test lives here, where the server library is linked anyway.

const serverConfigPath = "../deploy/temporal-server.yaml"

// composeEnv is the environment of a compose service, with ${VAR:-default} replaced by its
// default (what compose uses when VAR is not set).
func composeEnv(t *testing.T, service string) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Services map[string]struct {
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	svc, ok := f.Services[service]
	if !ok || len(svc.Environment) == 0 {
		t.Fatalf("docker-compose.yml: no environment for service %s", service)
	}
	subst := regexp.MustCompile(`\$\{[A-Z_]+:-([^}]*)\}`)
	env := map[string]string{}
	for k, v := range svc.Environment {
		env[k] = subst.ReplaceAllString(v, "$1")
	}
	return env
}

// loadServerConfigs renders the image's embedded template and deploy/temporal-server.yaml
// under env (and nothing else of the test's environment that the templates read).
func loadServerConfigs(t *testing.T, env map[string]string) (image, ours *config.Config) {
	t.Helper()
	for _, kv := range os.Environ() {
		if m := regexp.MustCompile(`^((?:DB|POSTGRES|VISIBILITY|SQL|TEMPORAL|FRONTEND|HISTORY|MATCHING|WORKER|INTERNAL|BIND|NUM|PROMETHEUS|STATSD|DYNAMIC|LOG|ENABLE|CLUSTER|PUBLIC|PPROF|USE)[A-Z_]*)=`).FindStringSubmatch(kv); m != nil {
			t.Setenv(m[1], "")
			os.Unsetenv(m[1])
		}
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	image, err := config.Load(config.WithEmbedded())
	if err != nil {
		t.Fatalf("the image's template: %v", err)
	}
	ours, err = config.Load(config.WithConfigFile(serverConfigPath))
	if err != nil {
		t.Fatalf("%s: %v", serverConfigPath, err)
	}
	return image, ours
}

// TestServerConfigMatchesCompose: under compose's environment for the temporal service, and
// under the production harness's (loopback, its own ports, Prometheus), the config file gives
// the very configuration the image would.
func TestServerConfigMatchesCompose(t *testing.T) {
	compose := composeEnv(t, "temporal")
	harness := map[string]string{}
	for k, v := range compose {
		harness[k] = v
	}
	for k, v := range map[string]string{
		"POSTGRES_SEEDS": "127.0.0.1", "DB_PORT": "40001", "POSTGRES_PWD": "secret", "BIND_ON_IP": "127.0.0.1",
		"FRONTEND_GRPC_PORT": "40002", "FRONTEND_HTTP_PORT": "40003", "FRONTEND_MEMBERSHIP_PORT": "40004",
		"HISTORY_GRPC_PORT": "40005", "HISTORY_MEMBERSHIP_PORT": "40006", "MATCHING_GRPC_PORT": "40007",
		"MATCHING_MEMBERSHIP_PORT": "40008", "WORKER_GRPC_PORT": "40009", "WORKER_MEMBERSHIP_PORT": "40010",
		"PROMETHEUS_ENDPOINT": "127.0.0.1:40011", "DYNAMIC_CONFIG_FILE_PATH": "/some/where/docker.yaml",
	} {
		harness[k] = v
	}
	for name, env := range map[string]map[string]string{"compose": compose, "harness": harness} {
		t.Run(name, func(t *testing.T) {
			image, ours := loadServerConfigs(t, env)
			if image.String() != ours.String() {
				t.Errorf("%s renders differently from the image's template under %s's environment:\n--- image\n%s\n--- ours\n%s",
					serverConfigPath, name, image, ours)
			}
			p := ours.Persistence
			if p.NumHistoryShards != 4 || p.DataStores["default"].SQL.PluginName != "postgres12" || p.DataStores["visibility"].SQL.DatabaseName != "temporal_visibility" {
				t.Errorf("persistence: %d shards, %+v", p.NumHistoryShards, p.DataStores)
			}
			if name == "harness" {
				if ours.Services["frontend"].RPC.GRPCPort != 40002 || ours.Global.Metrics == nil || ours.Global.Metrics.Prometheus.ListenAddress != "127.0.0.1:40011" {
					t.Errorf("the harness's ports and metrics address are not applied: %+v %+v", ours.Services["frontend"].RPC, ours.Global.Metrics)
				}
			}
		})
	}
}
