package sim

import (
	"math/rand/v2"
	"sync"
)

// faultState is the live fault configuration: rules count down as they fire and Probability
// draws come from one seeded generator, so a given seed and call order replay exactly.
type faultState struct {
	mu  sync.Mutex
	cfg Faults
	rng *rand.Rand
}

func newFaultState(cfg Faults) *faultState {
	f := &faultState{}
	f.set(cfg)
	return f
}

// set replaces the configuration and re-seeds the generator.
func (f *faultState) set(cfg Faults) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cfg.Rules = append([]FaultRule(nil), cfg.Rules...)
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	f.cfg = cfg
	f.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// get returns a copy of the configuration, with the Next counters as they stand.
func (f *faultState) get() Faults {
	f.mu.Lock()
	defer f.mu.Unlock()
	cfg := f.cfg
	cfg.Rules = append([]FaultRule(nil), cfg.Rules...)
	return cfg
}

// modes returns the two switches that change how actions behave rather than fail them.
func (f *faultState) modes() (holdActions, ignoreIdempotency bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cfg.HoldActions, f.cfg.IgnoreIdempotency
}

// pick returns the fault to inject into a call, if any fires.
func (f *faultState) pick(endpoint Scope, postID string) (FaultRule, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.cfg.Rules {
		r := &f.cfg.Rules[i]
		if !r.matches(endpoint, postID) {
			continue
		}
		if r.Next > 0 {
			r.Next--
			return r.withDefaults(), true
		}
		if r.Probability > 0 && f.rng.Float64() < r.Probability {
			return r.withDefaults(), true
		}
	}
	return FaultRule{}, false
}
