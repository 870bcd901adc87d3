package benchlib

import (
	"time"

	"resurge/bench/analysis"
)

// Results is everything a run measured; it is written as the JSON file.
type Results struct {
	StartedAt  time.Time   `json:"started_at"`
	FinishedAt time.Time   `json:"finished_at"`
	Command    string      `json:"command,omitempty"`
	Machine    Machine     `json:"machine"`
	Settings   Settings    `json:"settings"`
	Posts      []LoadPhase `json:"posts"`
	// ScalePhases are N open posts at the real default cadence (kind "scale").
	ScalePhases []LoadPhase     `json:"scale,omitempty"`
	Floor       []LoadPhase     `json:"floor"`
	Acting      *Acting         `json:"acting,omitempty"`
	Lock        *Lock           `json:"lock,omitempty"`
	Cadence     *CadenceResults `json:"cadence,omitempty"`
	LockLoad    *LockLoad       `json:"lock_load,omitempty"`
	// Fleet are the phases on the production topology (PostgreSQL, the server binary,
	// worker processes) and FleetLock its lock latency.
	Fleet     []FleetPhase `json:"fleet,omitempty"`
	FleetLock *Lock        `json:"fleet_lock,omitempty"`
	Cost      *Cost        `json:"cost,omitempty"`
	Seed      *Seed        `json:"seed,omitempty"`
	Compare   []Compare    `json:"comparison"`
	// Marginal is the resident memory each extra open post added between two posts phases
	// (the fixed costs of a warm server and worker cancel out).
	Marginal []Marginal `json:"marginal_rss_per_post,omitempty"`
	Targets  []Target   `json:"targets"`
	Notes    []string   `json:"notes"`
	Profiles []string   `json:"cpu_profiles,omitempty"`
}

// Machine is where the run happened.
type Machine struct {
	CPUs          int        `json:"nproc"`
	GOMAXPROCS    int        `json:"gomaxprocs"`
	MemTotalBytes int64      `json:"mem_total_bytes"`
	GoVersion     string     `json:"go_version"`
	OS            string     `json:"os"`
	Arch          string     `json:"arch"`
	Kernel        string     `json:"kernel,omitempty"`
	Python        string     `json:"python,omitempty"`
	LoadAvgStart  [3]float64 `json:"load_avg_start"`
	LoadAvgEnd    [3]float64 `json:"load_avg_end"`
	GitCommit     string     `json:"git_commit,omitempty"`
}

// Settings echo what the run used.
type Settings struct {
	Posts              []int   `json:"posts"`
	IntervalSeconds    float64 `json:"sample_interval_s"`
	DurationSeconds    float64 `json:"duration_s"`
	WarmupSeconds      float64 `json:"warmup_s"`
	Quick              bool    `json:"quick"`
	DataDir            string  `json:"data_dir"`
	StartConcurrency   int     `json:"start_concurrency"`
	HistorySample      int     `json:"history_sample"`
	WorkflowPollers    int     `json:"worker_workflow_pollers"`
	WorkflowExecutions int     `json:"worker_workflow_executions"`
	LocalActivities    int     `json:"worker_local_activities"`
	StickyCache        int     `json:"worker_sticky_cache"`
	// StickyTimeoutSeconds is the worker's sticky schedule-to-start timeout (0: the SDK's 5 s).
	StickyTimeoutSeconds float64 `json:"worker_sticky_timeout_s,omitempty"`
	// HistoryCache is the dev server's host-level history cache (0: its default, 8192).
	HistoryCache int    `json:"history_cache"`
	Stack        string `json:"stack"`
	// Isolated is true when each load phase ran in a fresh child process.
	Isolated     bool   `json:"phases_in_child_processes"`
	QuietConfig  string `json:"quiet_config"`
	ActingConfig string `json:"acting_config"`
}

// LoadPhase is one steady-state measurement with N open workflows.
type LoadPhase struct {
	Kind string `json:"kind"` // "posts" or "floor"
	N    int    `json:"n"`
	// Cycles counted over the measuring window: metrics reads on the simulated platform
	// (posts) or local activity executions (floor).
	Throughput
	PerSecond []int64 `json:"cycles_each_second"`
	// Saturated is true when fewer than 90% of the offered cycles ran.
	Saturated bool `json:"saturated"`
	// CPU of this whole process (server + worker + platform) per cycle.
	CPUSeconds    float64 `json:"cpu_seconds"`
	CPUMsPerCycle float64 `json:"cpu_ms_per_cycle"`
	CPUUtil       float64 `json:"cpu_utilisation_cores"`
	// OtherCPU is the CPU (in cores) every other process on the machine used meanwhile:
	// other engineers' builds and tests compete for the same 2 cores.
	OtherCPU float64 `json:"other_processes_cpu_cores"`
	// Memory: VmRSS after a forced GC before the starts, and in steady state at the end of the
	// window (no GC); the Go heap after a forced GC at both points.
	RSSBeforeBytes  int64         `json:"rss_before_bytes"`
	RSSAfterBytes   int64         `json:"rss_after_bytes"`
	RSSPerWorkflow  float64       `json:"rss_bytes_per_workflow"`
	HeapBeforeBytes int64         `json:"heap_live_before_bytes"`
	HeapAfterBytes  int64         `json:"heap_live_after_bytes"`
	HeapPerWorkflow float64       `json:"heap_live_bytes_per_workflow"`
	MetricsErrors   int64         `json:"metrics_errors,omitempty"`
	LoadAvgEnd      [3]float64    `json:"load_avg_end"`
	History         HistorySample `json:"history"`

	// MemoryAtEnd is where the RSS after the window is (rss_after_bytes is its RSS).
	MemoryAtEnd Memory `json:"memory_at_end"`

	// SDK is what the worker's SDK reported during the window (sticky cache hits and misses,
	// replays, schedule-to-start and execution latencies), by metric name.
	SDK     map[string]SDKMetric `json:"sdk_metrics,omitempty"`
	Profile string               `json:"cpu_profile,omitempty"`
	// Scale is the scale phase's own (kind "scale").
	Scale *Scale `json:"scale,omitempty"`
}

// Throughput is how many workflows a phase started and how many cycles they ran.
type Throughput struct {
	// OfferedPerS is N / interval: the cycles per second the timers ask for.
	OfferedPerS  float64 `json:"offered_cycles_per_s"`
	StartSeconds float64 `json:"start_seconds"`
	StartsPerS   float64 `json:"starts_per_s"`
	StartErrors  int     `json:"start_errors"`
	// Cycles over MeasureSeconds, the measuring window.
	MeasureSeconds float64 `json:"measure_seconds"`
	Cycles         int64   `json:"cycles"`
	CyclesPerS     float64 `json:"cycles_per_s"`
}

// HistorySample is what the sampled workflows' histories say about the measuring window.
type HistorySample struct {
	Workflows int `json:"workflows"`
	Closed    int `json:"closed"`
	// CyclesPerSEstimate is the sample's persisted decisions in the window (workflow tasks
	// completed in it that recorded local activity markers) scaled to N.
	CyclesPerSEstimate float64                        `json:"cycles_per_s_estimate"`
	Kinds              map[string]analysis.CycleStats `json:"cycles_by_kind"`
	// StartEvents and StartActions are a fresh run's events and actions before its first
	// TimerFired (the start plus the first cycle), averaged over the sampled workflows that
	// got that far; OneOffActions are the ones among them that no later cycle repeats (the
	// start and any search attribute upsert).
	// PerWorkflow is each sampled workflow's persisted decisions in the window (how evenly
	// a saturated server serves them).
	PerWorkflow []int `json:"decisions_per_sampled_workflow"`
	// Unusual describes up to 3 quiet cycles with an unusual number of events.
	Unusual       []string `json:"unusual_quiet_cycles,omitempty"`
	StartEvents   float64  `json:"start_events"`
	StartActions  float64  `json:"start_actions"`
	OneOffActions float64  `json:"one_off_actions"`
}

// Acting is the acting phase: posts that act once each.
type Acting struct {
	Posts          int                            `json:"posts"`
	WaitSeconds    float64                        `json:"wait_seconds"`
	Effects        int                            `json:"platform_effects"`
	Kinds          map[string]analysis.CycleStats `json:"post_cycles_by_kind"`
	Arbitrations   int                            `json:"arbitrations"`
	ArbiterEvents  int                            `json:"arbiter_events"`
	ArbiterActions analysis.Actions               `json:"arbiter_actions"`
	ArbiterRuns    int                            `json:"arbiter_runs"`
	MonitorEvents  int                            `json:"monitor_events"`
	MonitorActions analysis.Actions               `json:"monitor_actions"`
	// The arbiter's per arbitration and the monitor's per action (outcome and impact
	// signals, evaluation timers), their one-off starts excluded from the actions.
	ArbiterEventsPerArbitration  float64 `json:"arbiter_events_per_arbitration"`
	ArbiterActionsPerArbitration float64 `json:"arbiter_actions_per_arbitration"`
	MonitorEventsPerAction       float64 `json:"monitor_events_per_action"`
	MonitorActionsPerAction      float64 `json:"monitor_actions_per_action"`
	// Per acting cycle: the post's own events/actions plus the arbiter's and the monitor's.
	TotalEventsPerActingCycle  float64 `json:"total_events_per_acting_cycle"`
	TotalActionsPerActingCycle float64 `json:"total_actions_per_acting_cycle"`
	// The impact cycle a window later costs more than a quiet one (ReportImpact).
	ImpactExtraEventsPerAction  float64 `json:"impact_extra_events_per_action"`
	ImpactExtraActionsPerAction float64 `json:"impact_extra_actions_per_action"`
	// Everything one action adds over a quiet cycle.
	ExtraEventsPerAction  float64 `json:"extra_events_per_action"`
	ExtraActionsPerAction float64 `json:"extra_actions_per_action"`
	// ContinueAsNew is measured on a probe post that continues as new every 5 cycles.
	ContinueAsNew *ContinueAsNew `json:"continue_as_new,omitempty"`
}

// ContinueAsNew is the cost of one continue-as-new of a post workflow beyond its cycles.
type ContinueAsNew struct {
	RunsMeasured     int     `json:"runs_measured"`
	CyclesPerRun     float64 `json:"cycles_per_run"`
	EventsPerRun     float64 `json:"events_per_run"`
	ActionsPerRun    float64 `json:"actions_per_run"`
	OverheadEvents   float64 `json:"overhead_events_per_run"`
	OverheadActions  float64 `json:"overhead_actions_per_run"`
	ProductionCycles int     `json:"production_cycles_per_run"`
}

// Lock is the lock-latency phase.
type Lock struct {
	Clients            int     `json:"clients"`
	ArbitrationsBefore int     `json:"arbitrations_before_lock"`
	ArbitrationsPerS   float64 `json:"arbitrations_per_s_before_lock"`
	// LatencySeconds: from just before sending the lock signal to the first reply that says
	// lock. ServerLatencySeconds: from the lock signal's event to the first update completed
	// with lock, in the arbiter's history.
	LatencySeconds       float64 `json:"latency_s"`
	ServerLatencySeconds float64 `json:"server_latency_s"`
	SignalSeconds        float64 `json:"signal_call_s"`
	// AllowedAfterLockRecorded counts allow decisions completed after the lock signal's event
	// in the arbiter's history (must be 0). AllowedAfterLockAck counts allow replies to
	// requests sent after the lock signal call returned (must be 0).
	AllowedAfterLockRecorded int    `json:"allowed_after_lock_recorded"`
	AllowedAfterLockAck      int    `json:"allowed_after_lock_ack"`
	LockDecisions            int    `json:"lock_decisions"`
	Errors                   int    `json:"errors"`
	FirstError               string `json:"first_error,omitempty"`
	ArbiterRuns              int    `json:"arbiter_runs_read"`
	Found                    bool   `json:"lock_found_in_history"`
	// Workers is how many worker processes hosted the arbiter (fleet lock phase only).
	Workers int `json:"workers,omitempty"`
}

// Cost is the billable-action estimate at the product's default sampling.
type Cost struct {
	SampleInterval        string   `json:"sample_interval"`
	CyclesPerDay          float64  `json:"cycles_per_day"`
	FromN                 int      `json:"quiet_cycle_measured_at_n"`
	QuietEventsPerCycle   float64  `json:"quiet_events_per_cycle"`
	QuietActionsPerCycle  float64  `json:"quiet_actions_per_cycle"`
	ContinueAsNewPerDay   float64  `json:"continue_as_new_per_day"`
	CANActionsPerRun      float64  `json:"continue_as_new_overhead_actions"`
	QuietActionsPerDay    float64  `json:"quiet_actions_per_post_per_day"`
	QuietEventsPerDay     float64  `json:"quiet_events_per_post_per_day"`
	ExtraActionsPerAction float64  `json:"extra_actions_per_action"`
	ActionsPerDayAssumed  float64  `json:"actions_per_day_assumed"`
	BusyActionsPerDay     float64  `json:"busy_actions_per_post_per_day"`
	LifetimeActions       float64  `json:"one_off_actions_per_post"`
	FloorActionsPerDay    float64  `json:"floor_actions_per_workflow_per_day"`
	Rules                 []string `json:"rules"`
	Sources               []string `json:"sources"`
}

// Seed is the reference executor's side of the comparison.
type Seed struct {
	Skipped string    `json:"skipped,omitempty"`
	Dir     string    `json:"dir"`
	Runs    []SeedRun `json:"runs"`
}

// SeedRun is bench_seed.py for one N.
type SeedRun struct {
	Posts          int     `json:"posts"`
	Completed      bool    `json:"completed"`
	Seconds        float64 `json:"seconds"`
	DecisionsPerS  float64 `json:"decisions_per_s"`
	TimedOut       bool    `json:"timed_out,omitempty"`
	UpperBoundPerS float64 `json:"upper_bound_decisions_per_s,omitempty"`
	Extrapolated   bool    `json:"extrapolated,omitempty"`
	Error          string  `json:"error,omitempty"`
}

// Compare is one N side by side.
type Compare struct {
	N                int     `json:"n"`
	OursPerS         float64 `json:"ours_persisted_decisions_per_s"`
	FloorPerS        float64 `json:"floor_cycles_per_s"`
	VsFloor          float64 `json:"ours_over_floor"`
	SeedPerS         float64 `json:"reference_decisions_per_s"`
	SeedExtrapolated bool    `json:"reference_extrapolated,omitempty"`
	VsSeed           float64 `json:"ours_over_reference"`
}

// Target is one goal from the issue, measured.
type Target struct {
	Name     string `json:"name"`
	Goal     string `json:"goal"`
	Measured string `json:"measured"`
	Met      string `json:"met"` // "yes", "no" or "n/a"
	Why      string `json:"why,omitempty"`
}

// Marginal is the steady-state RSS growth per post from one N to the next.
type Marginal struct {
	FromN        int     `json:"from_n"`
	ToN          int     `json:"to_n"`
	BytesPerPost float64 `json:"rss_bytes_per_post"`
}
