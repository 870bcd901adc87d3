package devserver

import (
	"time"

	"go.temporal.io/server/common/dynamicconfig"
)

// devDynamicConfig returns the server's dynamic config overrides for a single-user dev server.
// opts has its defaults filled in.
func devDynamicConfig(opts Options) dynamicconfig.StaticClient {
	// User metadata (the static summary/details the Web UI shows for workflows and timers)
	// needs nothing here: it is on by default and its size limits suit a dev server.
	return dynamicconfig.StaticClient{
		// Search attributes registered at start (or by a test a moment ago) must be usable by
		// the very next StartWorkflow/UpsertSearchAttributes and visible in the Web UI's
		// filters, not after the search attribute cache's periodic refresh (~60 s).
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,

		// Workflow update (sync and async-accepted) and eager workflow start are on by default
		// in server v1.32; they are pinned here because Resurge depends on them and a server
		// upgrade that flipped a default should not silently break the dev setup.
		dynamicconfig.FrontendEnableUpdateWorkflowExecution.Key():              true,
		dynamicconfig.FrontendEnableUpdateWorkflowExecutionAsyncAccepted.Key(): true,
		dynamicconfig.EnableEagerWorkflowStart.Key():                           true,

		// The Web UI issues several list/count visibility queries per page and refreshes
		// them; the production default of 10 RPS per namespace makes it hit rate limits.
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,

		// The host-level workflow cache (mutable state of recently used workflows) defaults to
		// 128k entries, sized for a production history host. Options.HistoryCacheSize sets it;
		// its default, DefaultHistoryCacheSize (8192), covers the few hundred to few thousand
		// open workflows of a developer's machine while keeping the server's memory in line
		// with a laptop. It is a cap, not an allocation: entries cost memory only once their
		// workflows have been used. A host with more open workflows than the cap (the
		// benchmark's 10,000 posts: bench --history-cache) should raise it, or each task of
		// an evicted workflow reloads its mutable state from SQLite.
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key(): opts.HistoryCacheSize,

		// A workflow task polled by a worker without the workflow cached carries the whole
		// history (up to 8,192 events) instead of its first 256 events and the rest in pages:
		// v1.32.1 leaves a speculative or transient task's events out of those pages
		// (temporalio/temporal#7741), so a worker paging through the arbiter's history while it
		// takes updates fails the task with "premature end of stream", again and again. Our
		// histories stay below 8,192 events (continue-as-new is suggested at 4,096). The
		// production topology sets the same in deploy/dynamicconfig/docker.yaml.
		dynamicconfig.HistoryMaxPageSize.Key(): 8192,

		// The timer queue's reads of timer_tasks bound the fire time from below only inside an
		// OR, which SQLite's planner cannot use: each read walks every timer task not yet
		// range-deleted, and the plugin's one connection per file makes every write wait
		// behind it. At 100,000 open posts those reads were 16% of the CPU (1% at 10,000),
		// 0.5% with these settings (README.md, "Performance"). Fewer, larger reads (each is
		// followed by a look-ahead read of one task, which walks the same rows) and a
		// checkpoint that deletes done tasks every 10 s instead of 30 s keep both the count
		// and the length of the walks down; a timer can fire up to 1/TimerProcessorMaxPollRPS
		// later when more than that many reads a second are wanted (at 100 posts sampled
		// every second, 96.0 cycles/s either way).
		dynamicconfig.TimerProcessorMaxPollRPS.Key():        10,
		dynamicconfig.TimerTaskBatchSize.Key():              1000,
		dynamicconfig.TimerProcessorUpdateAckInterval.Key(): 10 * time.Second,

		// The worker service's scanners garbage-collect task queues and orphaned history
		// branches of a long-lived production cluster. A dev database has little to collect,
		// and in v1.32 the scanners' SDK workers are never stopped ("Nothing is gracefully
		// stopping these workers", service/worker/scanner). Measured: after Start+Stop in one
		// process (as in every integration test) 113 goroutines were left, 6 of them SDK
		// workers polling the dead frontend forever; with the scanners off, 59. The
		// parent-close-policy worker leaks the same way but stays on: it is needed for
		// correctness when a parent with many children closes.
		dynamicconfig.TaskQueueScannerEnabled.Key(): false,
		dynamicconfig.HistoryScannerEnabled.Key():   false,
	}
}
