package benchlib

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"resurge/bench/analysis"
)

func machineInfo() Machine {
	m := Machine{
		CPUs:       runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		GoVersion:  runtime.Version(),
		OS:         runtime.GOOS,
		Arch:       runtime.GOARCH,
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if kib, err := analysis.MemInfoKiB(string(b), "MemTotal"); err == nil {
			m.MemTotalBytes = kib * 1024
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.Python = commandOutput("python3", "--version")
	m.GitCommit = commandOutput("git", "rev-parse", "--short", "HEAD")
	return m
}

// commandOutput runs a short command and returns its trimmed output, "" on any failure.
func commandOutput(name string, args ...string) string {
	if _, err := exec.LookPath(name); err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func loadAvg() [3]float64 {
	var l [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return l
	}
	f := strings.Fields(string(b))
	for i := 0; i < 3 && i < len(f); i++ {
		l[i], _ = strconv.ParseFloat(f[i], 64)
	}
	return l
}

// rssBytes is this process's resident set (server, worker and platform all live here).
func rssBytes() int64 { return procStatusBytes("VmRSS") }

// peakRSSBytes is the process's peak resident set so far.
func peakRSSBytes() int64 { return procStatusBytes("VmHWM") }

func procStatusBytes(key string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	kib, err := analysis.ProcStatusKiB(string(b), key)
	if err != nil {
		return 0
	}
	return kib * 1024
}

// settle collects garbage and returns freed memory to the OS, so that the RSS read next is
// the live set.
func settle() {
	runtime.GC()
	debug.FreeOSMemory()
}

// liveHeapBytes is the Go heap still in use after a full GC.
func liveHeapBytes() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// cpuSeconds is the user+system CPU time of this process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// machineBusySeconds is the CPU time every process on the machine has used so far (all CPUs,
// from /proc/stat, in USER_HZ = 100 ticks per second): busy = total - idle - iowait.
func machineBusySeconds() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0
	}
	var total, idle float64
	for i, v := range f[1:] {
		x, _ := strconv.ParseFloat(v, 64)
		if i >= 8 { // guest and guest_nice are already in user and nice
			break
		}
		total += x
		if i == 3 || i == 4 {
			idle += x
		}
	}
	return (total - idle) / 100
}
