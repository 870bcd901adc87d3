package devserver

import (
	"log/slog"
	"strings"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
)

// webUI is the Temporal Web UI (the ui-server library with its embedded assets), proxying to
// our gRPC frontend.
type webUI struct {
	server *uiserver.Server
	done   chan struct{} // closed when the serving goroutine returns
}

// startWebUI serves the UI on ip:port in the background. The caller checks the port is free
// first (checkPortFree): the library exits the process when its listener fails.
func startWebUI(ip string, port int, frontendHostPort, namespace string, logger *slog.Logger) *webUI {
	srv := uiserver.NewServer(uioptions.WithConfigProvider(&uiconfig.Config{
		Host:                uiHost(ip),
		Port:                port,
		TemporalGRPCAddress: frontendHostPort,
		EnableUI:            true, // serve the embedded assets, not just the HTTP API
		DefaultNamespace:    namespace,
		// No auth (Auth left zero): a local dev server, as `temporal server start-dev`.
		// The UI's CSRF cookie would be marked Secure and so never sent back over plain
		// http://; CookieInsecure lets it work without TLS, as in the CLI's dev server.
		// No AllowOrigins: the UI is served from the same origin it calls.
		CORS: uiconfig.CORS{CookieInsecure: true},
		// Dev users have no use for the news feed fetched from temporal.io, and tests and
		// offline machines cannot reach it.
		DisableNewsFetch: true,
		// The UI's per-request access log would drown our own output.
		HideLogs: true,
	}))

	ui := &webUI{server: srv, done: make(chan struct{})}
	go func() {
		defer close(ui.done)
		if err := srv.Start(); err != nil {
			logger.Error("web UI stopped", "error", err)
		}
	}()
	return ui
}

// uiHost brackets an IPv6 address: the UI server joins Host and Port with a plain "%s:%d".
func uiHost(ip string) string {
	if strings.Contains(ip, ":") {
		return "[" + ip + "]"
	}
	return ip
}

// stop closes the UI's listener and waits for its goroutine to return.
func (u *webUI) stop() {
	u.server.Stop()
	<-u.done
}
