package analysis

import (
	"bufio"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// SeedLine is one line of the reference executor's bench_seed.py:
//
//	posts=1000 acted=1000 seconds=17.53 decisions_per_s=57.0
type SeedLine struct {
	Posts         int     `json:"posts"`
	Acted         int     `json:"acted"`
	Seconds       float64 `json:"seconds"`
	DecisionsPerS float64 `json:"decisions_per_s"`
}

var seedLineRE = regexp.MustCompile(`posts=(\d+)\s+acted=(\d+)\s+seconds=([0-9.]+)\s+decisions_per_s=([0-9.]+)`)

// ParseSeedOutput returns every result line of bench_seed.py's output, in order.
func ParseSeedOutput(out string) ([]SeedLine, error) {
	var lines []SeedLine
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		m := seedLineRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		var l SeedLine
		var err error
		if l.Posts, err = strconv.Atoi(m[1]); err != nil {
			return nil, err
		}
		if l.Acted, err = strconv.Atoi(m[2]); err != nil {
			return nil, err
		}
		if l.Seconds, err = strconv.ParseFloat(m[3], 64); err != nil {
			return nil, err
		}
		if l.DecisionsPerS, err = strconv.ParseFloat(m[4], 64); err != nil {
			return nil, err
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("no result line (posts=… decisions_per_s=…) in the output")
	}
	return lines, nil
}

// ExtrapolateQuadratic estimates the seconds the reference executor needs for n posts from a
// completed run of m posts that took secs, assuming time ∝ posts² (it rewrites its whole
// history file after every outcome, so the k-th decision costs O(k)).
func ExtrapolateQuadratic(m int, secs float64, n int) float64 {
	if m <= 0 {
		return math.NaN()
	}
	r := float64(n) / float64(m)
	return secs * r * r
}

// ProcStatusKiB reads a "Key:   123 kB" field of /proc/<pid>/status content, in KiB.
func ProcStatusKiB(status, key string) (int64, error) {
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		line := sc.Text()
		name, rest, ok := strings.Cut(line, ":")
		if !ok || name != key {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			break
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, fmt.Errorf("no %s in the status file", key)
}

// MemInfoKiB reads a field of /proc/meminfo content, in KiB.
func MemInfoKiB(meminfo, key string) (int64, error) { return ProcStatusKiB(meminfo, key) }
