package benchlib

import (
	"runtime/metrics"
)

// Memory is where the process's resident memory is at the end of a window (no forced GC),
// so that a phase over its memory target shows what to shrink: the Go heap's live objects,
// the garbage and free space it keeps until the next GC (GOGC, GOMEMLIMIT), the goroutines'
// stacks (one per cached workflow), the runtime's own structures, and what is resident
// outside the Go runtime (the executable's mapped code and data, and SQLite's page caches,
// which the C-to-Go translated driver allocates itself).
type Memory struct {
	RSS int64 `json:"rss_bytes"`
	// HeapObjects: objects in the heap, live or garbage not yet swept (runtime/metrics
	// /memory/classes/heap/objects). After a forced GC it is about heap_live_after_bytes.
	HeapObjects int64 `json:"heap_objects_bytes"`
	// HeapFree: heap memory free but still held (free + unused, not released to the OS).
	HeapFree int64 `json:"heap_free_bytes"`
	Stacks   int64 `json:"stacks_bytes"`
	// Runtime: the runtime's metadata, profiling buckets and other runtime memory.
	Runtime int64 `json:"runtime_bytes"`
	// OutsideGo is RSS minus what the Go runtime holds mapped (total - released); negative
	// when some of the runtime's mapped memory is not resident.
	OutsideGo  int64 `json:"outside_go_bytes"`
	Goroutines int64 `json:"goroutines"`
	// GOGC and GoMemLimit are the GC settings the process ran with.
	GOGC       int64 `json:"gogc"`
	GoMemLimit int64 `json:"gomemlimit_bytes"`
}

// memoryNow reads the process's memory classes (runtime/metrics) and its RSS.
func memoryNow() Memory {
	names := []string{
		"/memory/classes/heap/objects:bytes",
		"/memory/classes/heap/free:bytes",
		"/memory/classes/heap/unused:bytes",
		"/memory/classes/heap/stacks:bytes",
		"/memory/classes/os-stacks:bytes",
		"/memory/classes/metadata/other:bytes",
		"/memory/classes/metadata/mcache/inuse:bytes",
		"/memory/classes/metadata/mspan/inuse:bytes",
		"/memory/classes/profiling/buckets:bytes",
		"/memory/classes/other:bytes",
		"/memory/classes/heap/released:bytes",
		"/memory/classes/total:bytes",
		"/sched/goroutines:goroutines",
		"/gc/gogc:percent",
		"/gc/gomemlimit:bytes",
	}
	samples := make([]metrics.Sample, len(names))
	for i, n := range names {
		samples[i].Name = n
	}
	metrics.Read(samples)
	v := make(map[string]int64, len(names))
	for _, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			v[s.Name] = int64(s.Value.Uint64())
		}
	}
	m := Memory{
		RSS:         rssBytes(),
		HeapObjects: v["/memory/classes/heap/objects:bytes"],
		HeapFree:    v["/memory/classes/heap/free:bytes"] + v["/memory/classes/heap/unused:bytes"],
		Stacks:      v["/memory/classes/heap/stacks:bytes"] + v["/memory/classes/os-stacks:bytes"],
		Runtime: v["/memory/classes/metadata/other:bytes"] + v["/memory/classes/metadata/mcache/inuse:bytes"] +
			v["/memory/classes/metadata/mspan/inuse:bytes"] + v["/memory/classes/profiling/buckets:bytes"] +
			v["/memory/classes/other:bytes"],
		Goroutines: v["/sched/goroutines:goroutines"],
		GOGC:       v["/gc/gogc:percent"],
		GoMemLimit: v["/gc/gomemlimit:bytes"],
	}
	m.OutsideGo = m.RSS - (v["/memory/classes/total:bytes"] - v["/memory/classes/heap/released:bytes"])
	return m
}
