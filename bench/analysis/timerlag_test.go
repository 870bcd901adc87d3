package analysis

import (
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func ev(id int64, at time.Time, t enumspb.EventType) *historypb.HistoryEvent {
	return &historypb.HistoryEvent{EventId: id, EventType: t, EventTime: timestamppb.New(at)}
}

func timerStarted(id int64, at time.Time, d time.Duration) *historypb.HistoryEvent {
	e := ev(id, at, enumspb.EVENT_TYPE_TIMER_STARTED)
	e.Attributes = &historypb.HistoryEvent_TimerStartedEventAttributes{TimerStartedEventAttributes: &historypb.TimerStartedEventAttributes{StartToFireTimeout: durationpb.New(d)}}
	return e
}

func timerFired(id int64, at time.Time, startedID int64) *historypb.HistoryEvent {
	e := ev(id, at, enumspb.EVENT_TYPE_TIMER_FIRED)
	e.Attributes = &historypb.HistoryEvent_TimerFiredEventAttributes{TimerFiredEventAttributes: &historypb.TimerFiredEventAttributes{StartedEventId: startedID}}
	return e
}

// TestTimerLags: a timer started at 0 for 10 s, fired at 10.2 s, its workflow task done at
// 10.5 s: due 10 s, fired 0.2 s late, evaluation done 0.5 s late; one outside the window and
// one whose task has not completed are left out.
func TestTimerLags(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	events := []*historypb.HistoryEvent{
		timerStarted(1, ms(0), 10*time.Second),
		timerFired(2, ms(10200), 1),
		ev(3, ms(10210), enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED),
		ev(4, ms(10300), enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED),
		ev(5, ms(10500), enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
		timerStarted(6, ms(10500), 10*time.Second),
		timerFired(7, ms(20600), 6),
		ev(8, ms(20610), enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED),
	}
	got := TimerLags(events, time.Time{}, time.Time{})
	if len(got) != 1 || got[0].FireLag() != 200*time.Millisecond || got[0].DoneLag() != 500*time.Millisecond {
		t.Fatalf("lags %+v", got)
	}
	if got := TimerLags(events, ms(11000), time.Time{}); len(got) != 0 {
		t.Fatalf("outside the window: %+v", got)
	}
}

func TestLocalActivityType(t *testing.T) {
	data, err := converter.GetDefaultDataConverter().ToPayloads(struct{ ActivityID, ActivityType string }{"1", "FetchMetrics"})
	if err != nil {
		t.Fatal(err)
	}
	marker := func(name string) *historypb.HistoryEvent {
		e := ev(1, time.Now(), enumspb.EVENT_TYPE_MARKER_RECORDED)
		e.Attributes = &historypb.HistoryEvent_MarkerRecordedEventAttributes{MarkerRecordedEventAttributes: &historypb.MarkerRecordedEventAttributes{
			MarkerName: name, Details: map[string]*commonpb.Payloads{"data": data}}}
		return e
	}
	events := []*historypb.HistoryEvent{marker("LocalActivity"), marker("Version"), marker("LocalActivity")}
	if n := CountLocalActivities(events, ActivityFetchMetrics); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
	if LocalActivityType(events[1].GetMarkerRecordedEventAttributes()) != "" {
		t.Fatal("a version marker is no local activity")
	}
}

// TestActionSlots: an action decided in the cycle a timer woke is slotted at that timer's due
// time, one in the first cycle at the run's start.
func TestActionSlots(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	perform := func(id int64, at time.Time, action string) *historypb.HistoryEvent {
		in, _ := converter.GetDefaultDataConverter().ToPayloads(map[string]string{"action_type": action})
		e := ev(id, at, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
		e.Attributes = &historypb.HistoryEvent_ActivityTaskScheduledEventAttributes{ActivityTaskScheduledEventAttributes: &historypb.ActivityTaskScheduledEventAttributes{
			ActivityType: &commonpb.ActivityType{Name: ActivityPerform}, Input: in}}
		return e
	}
	events := []*historypb.HistoryEvent{
		ev(1, t0, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED),
		perform(2, t0.Add(time.Second), "comment"),
		timerStarted(3, t0.Add(2*time.Second), 10*time.Minute),
		timerFired(4, t0.Add(10*time.Minute+5*time.Second), 3), // fired 3 s late
		perform(5, t0.Add(10*time.Minute+9*time.Second), "edit"),
	}
	got := ActionSlots(events)
	if len(got) != 2 || !got[0].Due.Equal(t0) || got[0].Action != "comment" || !got[1].Due.Equal(t0.Add(10*time.Minute+2*time.Second)) || got[1].Action != "edit" {
		t.Fatalf("slots %+v", got)
	}
}
