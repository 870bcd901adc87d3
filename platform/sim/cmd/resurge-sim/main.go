// Command resurge-sim serves the simulated social platform (package resurge/platform/sim).
//
//	RESURGE_SIM_TOKEN=secret resurge-sim --addr 0.0.0.0:8090 --time-scale 60
//
// The bearer token comes only from RESURGE_SIM_TOKEN: a flag would show up in process lists,
// and it is never logged. --healthcheck probes a running server (for docker-compose) and exits
// 0 when it answers.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"resurge/platform/sim"
)

// Environment variables read by the command.
const (
	envToken     = "RESURGE_SIM_TOKEN"
	envAddr      = "RESURGE_SIM_ADDR"
	envTimeScale = "RESURGE_SIM_TIME_SCALE"
	envFaults    = "RESURGE_SIM_FAULTS" // optional JSON, the body of PUT /admin/faults
	envState     = "RESURGE_SIM_STATE_FILE"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("resurge-sim failed", "error", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	defaultScale := 1.0
	if v := os.Getenv(envTimeScale); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f > 0) {
			return fmt.Errorf("%s must be a positive number, got %q", envTimeScale, v)
		}
		defaultScale = f
	}
	addr := flag.String("addr", envOr(envAddr, "127.0.0.1:8090"), "listen address (env "+envAddr+")")
	timeScale := flag.Float64("time-scale", defaultScale, "simulated seconds per real second (env "+envTimeScale+")")
	goneAfter := flag.Duration("gone-after", sim.DefaultGoneAfter, "simulated time after which gone-… posts are deleted")
	stateFile := flag.String("state-file", os.Getenv(envState), "keep posts, effects and replays in this file across restarts (env "+envState+")")
	healthcheck := flag.Bool("healthcheck", false, "probe the server at --addr and exit")
	flag.Parse()

	token := os.Getenv(envToken)
	if token == "" {
		return errors.New(envToken + " must be set")
	}
	if *healthcheck {
		return probe(*addr, token)
	}
	if !(*timeScale > 0) {
		return fmt.Errorf("--time-scale must be positive, got %v", *timeScale)
	}
	var faults sim.Faults
	if v := os.Getenv(envFaults); v != "" {
		if err := json.Unmarshal([]byte(v), &faults); err != nil {
			return fmt.Errorf("%s: %w", envFaults, err)
		}
		if err := faults.Validate(); err != nil {
			return fmt.Errorf("%s: %w", envFaults, err)
		}
	}

	srv, err := sim.Open(sim.Options{
		Token: token, TimeScale: *timeScale, GoneAfter: *goneAfter, Faults: faults,
		StateFile: *stateFile, Logger: log,
	})
	if err != nil {
		return err
	}
	if err := srv.Start(*addr); err != nil {
		return err
	}
	log.Info("resurge-sim listening", "url", srv.URL(), "time_scale", *timeScale,
		"gone_after", goneAfter.String(), "fault_rules", len(faults.Rules), "state_file", *stateFile)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	log.Info("resurge-sim stopping")
	return srv.Close()
}

// probe asks the server's health endpoint, with the token, whether it is up.
func probe(addr, token string) error {
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/healthz", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 3 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health check answered HTTP %d", resp.StatusCode)
	}
	return nil
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
