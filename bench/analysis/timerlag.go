package analysis

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"
)

// TimerLag is one timer of a workflow run: when it was due (its TimerStarted event's time plus
// its start-to-fire timeout), when the server fired it, and when the workflow task it woke
// completed: for a post, the evaluation done.
type TimerLag struct {
	Due, Fired, Done time.Time
}

// FireLag is how late the server fired the timer; DoneLag how late the evaluation it woke was
// done.
func (l TimerLag) FireLag() time.Duration { return l.Fired.Sub(l.Due) }
func (l TimerLag) DoneLag() time.Duration { return l.Done.Sub(l.Due) }

// TimerLags returns the timers of a run that fired in [from, to) and whose workflow task
// completed (zero from or to: open on that side).
func TimerLags(events []*historypb.HistoryEvent, from, to time.Time) []TimerLag {
	due := map[int64]time.Time{}
	var out []TimerLag
	for i, e := range events {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			due[e.GetEventId()] = e.GetEventTime().AsTime().Add(e.GetTimerStartedEventAttributes().GetStartToFireTimeout().AsDuration())
		case enumspb.EVENT_TYPE_TIMER_FIRED:
			fired := e.GetEventTime().AsTime()
			d, ok := due[e.GetTimerFiredEventAttributes().GetStartedEventId()]
			if !ok || (!from.IsZero() && fired.Before(from)) || (!to.IsZero() && !fired.Before(to)) {
				continue
			}
			for _, next := range events[i+1:] {
				if next.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
					out = append(out, TimerLag{Due: d, Fired: fired, Done: next.GetEventTime().AsTime()})
					break
				}
			}
		}
	}
	return out
}

// ActionSlot is one action a post performed: its type, and when the cycle that decided it was
// due (the timer that woke it; the run's start for the first cycle). Measuring from the due
// time leaves out how late the machine ran the cycle, which is not the cadence's doing.
type ActionSlot struct {
	Due    time.Time
	Action string
}

// ActionSlots lists the PerformAction activities a run scheduled, in order, with the due time
// of the cycle that scheduled each.
func ActionSlots(events []*historypb.HistoryEvent) []ActionSlot {
	due := map[int64]time.Time{}
	var current time.Time
	var out []ActionSlot
	for _, e := range events {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			current = e.GetEventTime().AsTime()
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			due[e.GetEventId()] = e.GetEventTime().AsTime().Add(e.GetTimerStartedEventAttributes().GetStartToFireTimeout().AsDuration())
		case enumspb.EVENT_TYPE_TIMER_FIRED:
			if d, ok := due[e.GetTimerFiredEventAttributes().GetStartedEventId()]; ok {
				current = d
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			a := e.GetActivityTaskScheduledEventAttributes()
			if a.GetActivityType().GetName() != ActivityPerform {
				continue
			}
			var in struct {
				Action string `json:"action_type"`
			}
			_ = converter.GetDefaultDataConverter().FromPayloads(a.GetInput(), &in)
			out = append(out, ActionSlot{Due: current, Action: in.Action})
		}
	}
	return out
}
