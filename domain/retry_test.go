package domain

import (
	"fmt"
	"testing"
	"time"
)

func TestBudgetRetryJitter(t *testing.T) {
	if BudgetRetryJitter("p1", 10*time.Minute) != BudgetRetryJitter("p1", 10*time.Minute) {
		t.Fatal("the jitter must be a function of the post")
	}
	seen := map[time.Duration]bool{}
	for i := range 1000 {
		j := BudgetRetryJitter(fmt.Sprintf("post-%d", i), 10*time.Minute)
		if j < 0 || j >= MaxBudgetRetryJitter {
			t.Fatalf("jitter %s outside [0, %s)", j, MaxBudgetRetryJitter)
		}
		seen[j.Truncate(6*time.Second)] = true
	}
	if len(seen) < 9 {
		t.Fatalf("1000 posts' jitters fall in %d of 10 six-second slots: not spread", len(seen))
	}
	for _, iv := range []time.Duration{time.Second, 5 * time.Second} {
		for i := range 100 {
			if j := BudgetRetryJitter(fmt.Sprintf("post-%d", i), iv); j >= iv {
				t.Fatalf("jitter %s at a %s interval", j, iv)
			}
		}
	}
	if BudgetRetryJitter("p1", 0) != 0 {
		t.Fatal("no interval, no jitter")
	}
}

func TestBudgetRetryTime(t *testing.T) {
	iv := 10 * time.Minute
	j := BudgetRetryJitter("p1", iv)
	cases := []struct {
		name        string
		retry, next time.Time
		want        time.Time
	}{
		{"the slot frees after the next sample: retry_at plus the jitter", t0.Add(time.Hour), t0.Add(iv), t0.Add(time.Hour + j)},
		{"the slot frees before the next sample: the next sample", t0.Add(time.Second), t0.Add(iv), t0.Add(iv)},
	}
	for _, c := range cases {
		if got := BudgetRetryTime("p1", c.retry, c.next, iv); !got.Equal(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
