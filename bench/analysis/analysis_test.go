package analysis

import (
	"math"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// builder writes a synthetic history, one event per call, a second apart.
type builder struct {
	events []*historypb.HistoryEvent
	t0     time.Time
}

func (b *builder) add(t enumspb.EventType, set func(*historypb.HistoryEvent)) int64 {
	id := int64(len(b.events) + 1)
	e := &historypb.HistoryEvent{EventId: id, EventType: t, EventTime: timestamppb.New(b.t0.Add(time.Duration(id) * time.Second))}
	if set != nil {
		set(e)
	}
	b.events = append(b.events, e)
	return id
}

func (b *builder) wft() int64 {
	b.add(enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, nil)
	b.add(enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED, nil)
	return b.add(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, nil)
}

func (b *builder) markers(wft int64, n int) {
	for i := 0; i < n; i++ {
		b.add(enumspb.EVENT_TYPE_MARKER_RECORDED, func(e *historypb.HistoryEvent) {
			e.Attributes = &historypb.HistoryEvent_MarkerRecordedEventAttributes{MarkerRecordedEventAttributes: &historypb.MarkerRecordedEventAttributes{
				MarkerName: "LocalActivity", WorkflowTaskCompletedEventId: wft,
			}}
		})
	}
}

func (b *builder) activity(name string, attempt int32) {
	b.add(enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
			ActivityType: &commonpb.ActivityType{Name: name},
		}}
	})
	b.add(enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_ActivityTaskStartedEventAttributes{ActivityTaskStartedEventAttributes: &historypb.ActivityTaskStartedEventAttributes{Attempt: attempt}}
	})
	b.add(enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, nil)
}

// quietCycle is what the post workflow writes for a quiet cycle.
func (b *builder) quietCycle() {
	b.add(enumspb.EVENT_TYPE_TIMER_FIRED, nil)
	b.markers(b.wft(), 2)
	b.add(enumspb.EVENT_TYPE_TIMER_STARTED, nil)
}

func (b *builder) actingCycle() {
	b.add(enumspb.EVENT_TYPE_TIMER_FIRED, nil)
	w := b.wft()
	b.markers(w, 2)
	b.add(enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, nil)
	b.activity(ActivityArbitrate, 1)
	b.wft()
	b.activity(ActivityPerform, 3) // two retries
	b.wft()
	b.add(enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, nil)
	b.add(enumspb.EVENT_TYPE_TIMER_STARTED, nil)
}

func start(b *builder) {
	b.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, nil)
	w := b.wft()
	b.add(enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, nil)
	b.markers(w, 2)
	b.add(enumspb.EVENT_TYPE_TIMER_STARTED, nil)
}

func TestQuietCyclesCostSevenEventsAndTwoActions(t *testing.T) {
	b := &builder{t0: time.Unix(1000, 0)}
	start(b)
	for i := 0; i < 4; i++ {
		b.quietCycle()
	}
	cs := Cycles(b.events, time.Time{}, time.Time{})
	if len(cs) != 4 {
		t.Fatalf("%d cycles, want 4 (the last one closed by its timer)", len(cs))
	}
	var g Aggregator
	g.Add(b.events, cs)
	q := g.Stats(KindQuiet)
	if q.Cycles != 4 || q.EventsPerCycle != 7 || q.ActionsPerCycle != 2 || q.WorkflowTasksPerCycle != 1 {
		t.Errorf("quiet stats = %+v, want 4 cycles of 7 events, 2 actions, 1 workflow task", q)
	}
	if q.Actions.Timers != 4 || q.Actions.LocalActivityTasks != 4 || q.Actions.WorkflowTaskHeartbeats != 0 {
		t.Errorf("actions = %+v", q.Actions)
	}
	if got := q.EventTypes["MarkerRecorded"]; got != 2 {
		t.Errorf("markers per cycle = %v, want 2", got)
	}
	head := CountActions(b.events[:8], nil)
	if head.Total() != 4 || head.WorkflowStarted != 1 || head.Upserts != 1 {
		t.Errorf("start actions = %+v (total %d), want started + upsert + local activities + timer = 4", head, head.Total())
	}
}

func TestAnOpenCycleIsNotCounted(t *testing.T) {
	b := &builder{t0: time.Unix(1000, 0)}
	start(b)
	b.quietCycle()
	b.add(enumspb.EVENT_TYPE_TIMER_FIRED, nil)
	b.wft() // still running its local activities: no timer yet
	if cs := Cycles(b.events, time.Time{}, time.Time{}); len(cs) != 1 {
		t.Errorf("%d cycles, want 1", len(cs))
	}
}

func TestCyclesInAWindow(t *testing.T) {
	b := &builder{t0: time.Unix(1000, 0)}
	start(b)
	for i := 0; i < 5; i++ {
		b.quietCycle()
	}
	// Cycle k's TimerFired is event 9+7k, at t0+(9+7k)s.
	from, to := b.t0.Add(16*time.Second), b.t0.Add(30*time.Second)
	if cs := Cycles(b.events, from, to); len(cs) != 2 {
		t.Errorf("%d cycles in [16s, 30s), want 2", len(cs))
	}
}

func TestActingCycle(t *testing.T) {
	b := &builder{t0: time.Unix(1000, 0)}
	start(b)
	b.actingCycle()
	b.quietCycle()
	cs := Cycles(b.events, time.Time{}, time.Time{})
	if len(cs) != 2 || cs[0].Kind != KindActing || cs[1].Kind != KindQuiet {
		t.Fatalf("cycles = %v", kinds(cs))
	}
	var g Aggregator
	g.Add(b.events, cs)
	a := g.Stats(KindActing)
	// timer 1 + local activities 1 + 2 activities + 2 retries + 2 upserts
	if a.ActionsPerCycle != 8 || a.Actions.ActivityRetries != 2 || a.WorkflowTasksPerCycle != 3 {
		t.Errorf("acting stats = %+v", a)
	}
}

func TestWorkflowTaskHeartbeat(t *testing.T) {
	b := &builder{t0: time.Unix(1000, 0)}
	start(b)
	b.add(enumspb.EVENT_TYPE_TIMER_FIRED, nil)
	b.wft() // the local activity outlived the task: heartbeat
	w := b.wft()
	b.markers(w, 2)
	b.add(enumspb.EVENT_TYPE_TIMER_STARTED, nil)
	b.quietCycle()
	cs := Cycles(b.events, time.Time{}, time.Time{})
	a := CountActions(cs[0].Events, nil)
	if a.WorkflowTaskHeartbeats != 1 || a.Total() != 3 {
		t.Errorf("actions = %+v (total %d), want one heartbeat, 3 in all", a, a.Total())
	}
}

func TestAnUpdateTaskIsNotAHeartbeat(t *testing.T) {
	b := &builder{t0: time.Unix(1000, 0)}
	b.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, nil)
	b.wft()
	b.wft()
	b.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, nil)
	b.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED, nil)
	a := CountActions(b.events, nil)
	if a.WorkflowTaskHeartbeats != 0 || a.Updates != 1 || a.Total() != 2 {
		t.Errorf("actions = %+v", a)
	}
}

func TestLocalActivityRetriesAreMetered(t *testing.T) {
	b := &builder{t0: time.Unix(1000, 0)}
	b.add(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_WorkflowTaskCompletedEventAttributes{WorkflowTaskCompletedEventAttributes: &historypb.WorkflowTaskCompletedEventAttributes{
			MeteringMetadata: &commonpb.MeteringMetadata{NonfirstLocalActivityExecutionAttempts: 3},
		}}
	})
	b.markers(1, 1)
	if a := CountActions(b.events, nil); a.LocalActivityRetries != 3 || a.LocalActivityTasks != 1 || a.Total() != 4 {
		t.Errorf("actions = %+v", a)
	}
}

func kinds(cs []Cycle) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Kind)
	}
	return out
}

func TestParseSeedOutput(t *testing.T) {
	out := "posts=100 acted=100 seconds=0.41 decisions_per_s=245.4\nnoise\nposts=1000 acted=1000 seconds=17.53 decisions_per_s=57.0\n"
	lines, err := ParseSeedOutput(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || lines[1] != (SeedLine{Posts: 1000, Acted: 1000, Seconds: 17.53, DecisionsPerS: 57}) {
		t.Errorf("lines = %+v", lines)
	}
	if _, err := ParseSeedOutput("Traceback (most recent call last):\n"); err == nil {
		t.Error("no error for output without a result line")
	}
	if got := ExtrapolateQuadratic(1000, 17.5, 10000); math.Abs(got-1750) > 1e-9 {
		t.Errorf("extrapolated %v s, want 1750", got)
	}
}

func TestProcStatus(t *testing.T) {
	status := "Name:\tbench\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n"
	if got, err := ProcStatusKiB(status, "VmRSS"); err != nil || got != 102400 {
		t.Errorf("VmRSS = %d, %v", got, err)
	}
	if _, err := ProcStatusKiB(status, "VmSwap"); err == nil {
		t.Error("no error for a missing key")
	}
}

func TestRecordedDecisions(t *testing.T) {
	b := &builder{t0: time.Unix(1000, 0)}
	start(b) // its task completes at t0+4s
	for i := 0; i < 3; i++ {
		b.quietCycle() // tasks complete at t0+12s, 19s, 26s
	}
	if got := RecordedDecisions(b.events, b.t0.Add(5*time.Second), b.t0.Add(26*time.Second)); got != 2 {
		t.Errorf("recorded decisions in [5s, 26s) = %d, want 2", got)
	}
	if got := RecordedDecisions(b.events, b.t0, b.t0.Add(time.Minute)); got != 4 {
		t.Errorf("recorded decisions = %d, want 4", got)
	}
}

func TestQuantile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	for q, want := range map[float64]float64{0: 1, 0.1: 1, 0.5: 5, 0.9: 9, 0.99: 10, 1: 10} {
		if got := Quantile(xs, q); got != want {
			t.Errorf("Quantile(%v) = %v, want %v", q, got, want)
		}
	}
	if xs[0] != 5 {
		t.Fatal("Quantile sorted its input")
	}
	if !math.IsNaN(Quantile(nil, 0.5)) || !math.IsNaN(Mean(nil)) || Mean([]float64{1, 2, 6}) != 3 {
		t.Fatal("empty input or mean")
	}
}
