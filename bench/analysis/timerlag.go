package analysis

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
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
