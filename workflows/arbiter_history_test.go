package workflows

import (
	"os"
	"path/filepath"
	"testing"

	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"resurge/domain"
)

// TestDecisionsInReadsSinglesAndBatches: the same scenario recorded before batches (one update
// per arbitration) and with them reads as allows and locks either way, every one with its
// request's key; a reader that decoded only single updates would find none in the batches.
func TestDecisionsInReadsSinglesAndBatches(t *testing.T) {
	for _, name := range []string{"legacy_arbiter_lock_release.json", "arbiter_lock_release.json"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "histories", name))
			if err != nil {
				t.Fatal(err)
			}
			var h historypb.History
			if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, &h); err != nil {
				t.Fatal(err)
			}
			count := map[domain.Decision]int{}
			updates := 0
			for _, ev := range h.Events {
				ds, err := DecisionsIn(ev)
				if err != nil {
					t.Fatal(err)
				}
				if len(ds) > 0 {
					updates++
				}
				for _, d := range ds {
					if len(d.Key()) < len("sheal_") || d.Key()[:6] != "sheal_" {
						t.Errorf("decision %q: key %q", d.ID, d.Key())
					}
					count[d.Decision]++
				}
			}
			if count[domain.DecisionAllow] == 0 || count[domain.DecisionLock] == 0 {
				t.Fatalf("%d updates: decisions %v, want allows and locks", updates, count)
			}
			t.Logf("%d updates carried %v", updates, count)
		})
	}
}
