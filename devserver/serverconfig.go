package devserver

import (
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/membership/static"
	"go.temporal.io/server/common/primitives"
)

// clusterName names our single cluster. It is stored in the database (cluster metadata and
// each namespace's replication config), so it must not change between releases.
const clusterName = "active"

// storeName keys the SQLite store of execution state, visibilityStoreName that of
// visibility when it has a database of its own (see visibilityFileName).
const (
	storeName           = "sqlite-default"
	visibilityStoreName = "sqlite-visibility"
)

// servicePorts are the ports of the four server roles, all running in this process.
type servicePorts struct {
	grpc map[primitives.ServiceName]int
	// frontendHTTP serves the frontend's HTTP API (and Nexus endpoints) next to gRPC;
	// without it the server warns at every start that Nexus is unavailable.
	frontendHTTP int
}

// pickServicePorts gives the frontend the configured gRPC port and a free HTTP port on the
// listen IP, and the internal services (history, matching, worker) free ports on the loopback
// interface, where only this process talks to them.
func pickServicePorts(opts Options) (servicePorts, error) {
	ports := servicePorts{grpc: map[primitives.ServiceName]int{
		primitives.FrontendService: opts.GRPCPort,
	}}
	for _, svc := range []primitives.ServiceName{
		primitives.HistoryService, primitives.MatchingService, primitives.WorkerService,
	} {
		p, err := freePort(defaultIP)
		if err != nil {
			return ports, err
		}
		ports.grpc[svc] = p
	}
	var err error
	ports.frontendHTTP, err = freePort(opts.IP)
	return ports, err
}

// staticHosts tells each service where the others are. With a fixed list there is no ringpop
// gossip, so no membership ports and no join wait at start.
func (p servicePorts) staticHosts(frontendDialIP string) map[primitives.ServiceName]static.Hosts {
	hosts := make(map[primitives.ServiceName]static.Hosts, len(p.grpc))
	for svc, port := range p.grpc {
		ip := defaultIP
		if svc == primitives.FrontendService {
			ip = frontendDialIP
		}
		hosts[svc] = static.SingleLocalHost(hostPort(ip, port))
	}
	return hosts
}

// serverConfig is the static server configuration: one node running every service on one
// SQLite store (two databases, see visibilityFileName), one history shard, no archival, no
// metrics endpoint.
func serverConfig(opts Options, ports servicePorts, store *sqliteStore) *config.Config {
	frontendAddr := hostPort(opts.dialIP(), ports.grpc[primitives.FrontendService])

	var cfg config.Config
	// The address this node advertises; it must be dialable, so never a wildcard.
	cfg.Global.Membership.BroadcastAddress = defaultIP

	cfg.Persistence = config.Persistence{
		DefaultStore:    storeName,
		VisibilityStore: storeName,
		// One shard: a single process gains nothing from more, and the count is fixed in
		// the database when it is created.
		NumHistoryShards: 1,
		DataStores:       map[string]config.DataStore{storeName: {SQL: store.sql}},
	}
	if store.visibility != store.sql {
		cfg.Persistence.VisibilityStore = visibilityStoreName
		cfg.Persistence.DataStores[visibilityStoreName] = config.DataStore{SQL: store.visibility}
	}

	cfg.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             frontendAddr,
				HTTPAddress:            hostPort(opts.dialIP(), ports.frontendHTTP),
			},
		},
	}
	cfg.DCRedirectionPolicy.Policy = "noop"

	cfg.Services = make(map[string]config.Service, len(ports.grpc))
	for svc, port := range ports.grpc {
		rpc := config.RPC{GRPCPort: port, BindOnIP: defaultIP}
		if svc == primitives.FrontendService {
			rpc.BindOnIP = opts.IP
			rpc.HTTPPort = ports.frontendHTTP
		}
		cfg.Services[string(svc)] = config.Service{RPC: rpc}
	}

	cfg.Archival.History.State = "disabled"
	cfg.Archival.Visibility.State = "disabled"
	cfg.NamespaceDefaults.Archival.History.State = "disabled"
	cfg.NamespaceDefaults.Archival.Visibility.State = "disabled"

	// The server's own system workers (schedules, batch operations, ...) reach the frontend
	// through this address.
	cfg.PublicClient.HostPort = frontendAddr
	return &cfg
}
