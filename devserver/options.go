package devserver

import (
	"fmt"
	"log/slog"
	"net"
)

// Standard ports of a Temporal dev server. Options leaves ports at 0 to mean "any free port"
// (what tests want), so a command that wants the usual ports passes these explicitly.
const (
	DefaultGRPCPort = 7233
	DefaultUIPort   = 8233
)

// DisableUI as Options.UIPort runs no Web UI.
const DisableUI = -1

// Options configures a dev server.
type Options struct {
	// DataDir holds the SQLite databases (DataDir/temporal.db, execution state, and
	// DataDir/visibility.db, the visibility records) and is created if missing.
	// Starting again with the same DataDir resumes every workflow. Empty means an in-memory
	// database that disappears with the server.
	DataDir string
	// IP the gRPC frontend and the Web UI listen on. Default "127.0.0.1".
	IP string
	// GRPCPort of the frontend; 0 picks a free port. Usually DefaultGRPCPort.
	GRPCPort int
	// UIPort of the Web UI; 0 picks a free port, DisableUI (-1) runs no UI. Usually DefaultUIPort.
	UIPort int
	// Namespace created at start (idempotently). Default "default".
	Namespace string
	// SearchAttributes are custom Keyword search attributes registered in Namespace at start.
	// Names already registered are left alone, so restarting on the same DataDir is harmless.
	SearchAttributes []string
	// Logger receives the server's warnings and errors (only its errors when LogFile is set);
	// its info chatter is dropped. Default slog.Default().
	Logger *slog.Logger
	// LogFile, when set, is a file that receives the server's logs from info up, appended, so
	// that the terminal behind Logger shows the application's story rather than the server's
	// housekeeping. It is created if missing.
	LogFile string
	// HistoryCacheSize is the history service's host-level workflow cache, in workflows
	// (dynamic config history.hostLevelCacheMaxSize). 0 means DefaultHistoryCacheSize; a host
	// with more open workflows than that should raise it (see devDynamicConfig).
	HistoryCacheSize int
}

// DefaultHistoryCacheSize is the host-level history cache of a dev server, in workflows (the
// production default is 128,000; see devDynamicConfig).
const DefaultHistoryCacheSize = 8192

const (
	defaultIP        = "127.0.0.1"
	defaultNamespace = "default"
)

// withDefaults returns a copy of o with empty fields filled in and free ports chosen.
func (o Options) withDefaults() (Options, error) {
	if o.IP == "" {
		o.IP = defaultIP
	}
	if net.ParseIP(o.IP) == nil {
		return o, fmt.Errorf("IP must be an IP address, got %q", o.IP)
	}
	if o.Namespace == "" {
		o.Namespace = defaultNamespace
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.HistoryCacheSize < 0 {
		return o, fmt.Errorf("HistoryCacheSize must be >= 0, got %d", o.HistoryCacheSize)
	}
	if o.HistoryCacheSize == 0 {
		o.HistoryCacheSize = DefaultHistoryCacheSize
	}
	if o.GRPCPort < 0 {
		return o, fmt.Errorf("GRPCPort must be >= 0, got %d", o.GRPCPort)
	}
	if o.UIPort < DisableUI {
		return o, fmt.Errorf("UIPort must be >= -1, got %d", o.UIPort)
	}
	var err error
	if o.GRPCPort == 0 {
		if o.GRPCPort, err = freePort(o.IP); err != nil {
			return o, err
		}
	}
	if o.UIPort == 0 {
		if o.UIPort, err = freePort(o.IP); err != nil {
			return o, err
		}
	}
	return o, nil
}

// uiEnabled reports whether a Web UI should run.
func (o Options) uiEnabled() bool { return o.UIPort != DisableUI }

// dialIP is the address clients in this process use to reach our listeners: the listen IP,
// unless it is a wildcard such as 0.0.0.0, which cannot be dialled portably.
func (o Options) dialIP() string {
	if ip := net.ParseIP(o.IP); ip.IsUnspecified() {
		return defaultIP
	}
	return o.IP
}

// hostPort joins ip and port, bracketing IPv6 addresses.
func hostPort(ip string, port int) string {
	return net.JoinHostPort(ip, fmt.Sprint(port))
}
