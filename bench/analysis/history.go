// Package analysis turns what the benchmark reads back — workflow histories, the reference
// executor's output, /proc files — into numbers. It is pure (no server, no network), so its
// tests run without linking the Temporal server.
package analysis

import (
	"fmt"
	"sort"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/proto"
)

// Kinds of cycle, by what the cycle scheduled.
const (
	KindQuiet   = "quiet"   // no activity: timer → local activities → timer
	KindActing  = "acting"  // asked the arbiter and performed the action (PerformAction scheduled)
	KindBlocked = "blocked" // asked the arbiter, did not act
	KindImpact  = "impact"  // only reported an impact (a later, otherwise quiet cycle)
	KindOther   = "other"   // scheduled some other activity
)

// Activity type names the post workflow schedules (method names of activities.Activities).
const (
	ActivityPerform      = "PerformAction"
	ActivityArbitrate    = "Arbitrate"
	ActivityReportImpact = "ReportImpact"
)

// Cycle is one iteration of a timer-driven loop: the events from a TimerFired up to (not
// including) the next TimerFired of the same run. A cycle is complete when another TimerFired
// follows or, for the last one, once it has started its next timer; Cycles returns only
// complete cycles.
type Cycle struct {
	Start  time.Time
	Kind   string
	Events []*historypb.HistoryEvent
}

// Cycles splits a run's history into complete cycles whose TimerFired falls in [from, to).
// A zero from or to leaves that side open.
func Cycles(events []*historypb.HistoryEvent, from, to time.Time) []Cycle {
	var fired []int
	for i, e := range events {
		if e.GetEventType() == enumspb.EVENT_TYPE_TIMER_FIRED {
			fired = append(fired, i)
		}
	}
	var out []Cycle
	for k := range fired {
		start := events[fired[k]].GetEventTime().AsTime()
		if (!from.IsZero() && start.Before(from)) || (!to.IsZero() && !start.Before(to)) {
			continue
		}
		var evs []*historypb.HistoryEvent
		if k+1 < len(fired) {
			evs = events[fired[k]:fired[k+1]]
		} else {
			// The last cycle is complete once it started its next timer.
			evs = events[fired[k]:]
			if !startsTimer(evs) {
				continue
			}
		}
		out = append(out, Cycle{Start: start, Kind: kindOf(evs), Events: evs})
	}
	return out
}

func startsTimer(events []*historypb.HistoryEvent) bool {
	for _, e := range events {
		if e.GetEventType() == enumspb.EVENT_TYPE_TIMER_STARTED {
			return true
		}
	}
	return false
}

func kindOf(events []*historypb.HistoryEvent) string {
	var perform, arbitrate, impact, other bool
	for _, e := range events {
		a := e.GetActivityTaskScheduledEventAttributes()
		if a == nil {
			continue
		}
		switch a.GetActivityType().GetName() {
		case ActivityPerform:
			perform = true
		case ActivityArbitrate:
			arbitrate = true
		case ActivityReportImpact:
			impact = true
		default:
			other = true
		}
	}
	switch {
	case perform:
		return KindActing
	case arbitrate:
		return KindBlocked
	case impact:
		return KindImpact
	case other:
		return KindOther
	}
	return KindQuiet
}

// Actions are Temporal Cloud billable actions, counted from history events as
// https://docs.temporal.io/cloud/actions defines them. Actions that leave no trace in a history
// (queries, activity heartbeats, signal-with-start de-duplication) are not counted.
type Actions struct {
	// WorkflowStarted: WorkflowExecutionStarted (a client start, a continue-as-new, a child).
	WorkflowStarted int `json:"workflow_started"`
	// Timers: TimerStarted.
	Timers int `json:"timers_started"`
	// LocalActivityTasks: all local activities (MarkerRecorded) recorded by one workflow task
	// count as ONE action.
	LocalActivityTasks int `json:"local_activity_tasks"`
	// LocalActivityRetries: WorkflowTaskCompleted.metering_metadata.nonfirst_local_activity_execution_attempts.
	LocalActivityRetries int `json:"local_activity_retries"`
	// WorkflowTaskHeartbeats: a workflow task scheduled right after the previous one completed
	// with nothing new in between (the SDK's heartbeat for a long local activity). Heuristic.
	WorkflowTaskHeartbeats int `json:"workflow_task_heartbeats"`
	// Activities: ActivityTaskScheduled; ActivityRetries: ActivityTaskStarted.attempt - 1.
	Activities      int `json:"activities_scheduled"`
	ActivityRetries int `json:"activity_retries"`
	// Signals: WorkflowExecutionSignaled (counted in the signalled workflow's history).
	Signals int `json:"signals"`
	// Updates: WorkflowExecutionUpdateAccepted (rejected updates leave no event).
	Updates int `json:"updates_accepted"`
	// Upserts: UpsertWorkflowSearchAttributes (one per command, whatever it sets).
	Upserts int `json:"search_attribute_upserts"`
	// ChildStarts: StartChildWorkflowExecutionInitiated counts twice.
	ChildStarts int `json:"child_workflow_starts"`
	// OptionsUpdated: WorkflowExecutionOptionsUpdated.
	OptionsUpdated int `json:"options_updated"`
}

// Total is the sum of every kind of action.
func (a Actions) Total() int {
	return a.WorkflowStarted + a.Timers + a.LocalActivityTasks + a.LocalActivityRetries +
		a.WorkflowTaskHeartbeats + a.Activities + a.ActivityRetries + a.Signals + a.Updates +
		a.Upserts + 2*a.ChildStarts + a.OptionsUpdated
}

// Add returns the sum of two counts.
func (a Actions) Add(b Actions) Actions {
	return Actions{
		WorkflowStarted:        a.WorkflowStarted + b.WorkflowStarted,
		Timers:                 a.Timers + b.Timers,
		LocalActivityTasks:     a.LocalActivityTasks + b.LocalActivityTasks,
		LocalActivityRetries:   a.LocalActivityRetries + b.LocalActivityRetries,
		WorkflowTaskHeartbeats: a.WorkflowTaskHeartbeats + b.WorkflowTaskHeartbeats,
		Activities:             a.Activities + b.Activities,
		ActivityRetries:        a.ActivityRetries + b.ActivityRetries,
		Signals:                a.Signals + b.Signals,
		Updates:                a.Updates + b.Updates,
		Upserts:                a.Upserts + b.Upserts,
		ChildStarts:            a.ChildStarts + b.ChildStarts,
		OptionsUpdated:         a.OptionsUpdated + b.OptionsUpdated,
	}
}

// commandEvent reports whether an event is written by a workflow task's completion (so a
// workflow task scheduled right after it had no new external event to process).
func commandEvent(t enumspb.EventType) bool {
	switch t {
	case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
		enumspb.EVENT_TYPE_MARKER_RECORDED,
		enumspb.EVENT_TYPE_TIMER_STARTED,
		enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
		enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
		enumspb.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,
		enumspb.EVENT_TYPE_TIMER_CANCELED:
		return true
	}
	return false
}

// RecordedDecisions counts the workflow tasks completed in [from, to) that recorded local
// activity markers: each is one cycle's plan persisted in the history.
func RecordedDecisions(events []*historypb.HistoryEvent, from, to time.Time) (n int) {
	at := map[int64]time.Time{}
	for _, e := range events {
		if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			at[e.GetEventId()] = e.GetEventTime().AsTime()
		}
	}
	seen := map[int64]bool{}
	for _, e := range events {
		m := e.GetMarkerRecordedEventAttributes()
		if m == nil || seen[m.GetWorkflowTaskCompletedEventId()] {
			continue
		}
		seen[m.GetWorkflowTaskCompletedEventId()] = true
		t, ok := at[m.GetWorkflowTaskCompletedEventId()]
		if ok && !t.Before(from) && t.Before(to) {
			n++
		}
	}
	return n
}

// deliversUpdate reports whether the workflow task scheduled at events[0] accepted or
// rejected an update (an update is delivered in a task that nothing in the history precedes).
func deliversUpdate(events []*historypb.HistoryEvent) bool {
	completed := false
	for _, e := range events[1:] {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			completed = true
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED:
			if completed {
				return true
			}
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
			return false
		}
	}
	return false
}

// CountActions counts the billable actions of a slice of a history. prev is the event just
// before the slice (nil at the start of a history); it is only used to recognise a workflow
// task heartbeat at the slice's first event.
func CountActions(events []*historypb.HistoryEvent, prev *historypb.HistoryEvent) Actions {
	var a Actions
	laTasks := map[int64]bool{}
	for i, e := range events {
		before := prev
		if i > 0 {
			before = events[i-1]
		}
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			a.WorkflowStarted++
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			a.Timers++
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			laTasks[e.GetMarkerRecordedEventAttributes().GetWorkflowTaskCompletedEventId()] = true
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			m := e.GetWorkflowTaskCompletedEventAttributes().GetMeteringMetadata()
			a.LocalActivityRetries += int(m.GetNonfirstLocalActivityExecutionAttempts())
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
			if before != nil && commandEvent(before.GetEventType()) && !deliversUpdate(events[i:]) {
				a.WorkflowTaskHeartbeats++
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			a.Activities++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			if n := e.GetActivityTaskStartedEventAttributes().GetAttempt(); n > 1 {
				a.ActivityRetries += int(n - 1)
			}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			a.Signals++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
			a.Updates++
		case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			a.Upserts++
		case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
			a.ChildStarts++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED:
			a.OptionsUpdated++
		}
	}
	a.LocalActivityTasks = len(laTasks)
	return a
}

// CycleStats aggregates cycles of one kind.
type CycleStats struct {
	Cycles int `json:"cycles"`
	Events int `json:"events"`
	// EventsPerCycle and ActionsPerCycle are averages over Cycles.
	EventsPerCycle  float64 `json:"events_per_cycle"`
	ActionsPerCycle float64 `json:"actions_per_cycle"`
	// EventTypes is the average number of each event type per cycle.
	EventTypes map[string]float64 `json:"event_types_per_cycle"`
	// Actions are the totals over every cycle.
	Actions Actions `json:"actions"`
	// WorkflowTasksPerCycle is the average number of workflow tasks (scheduled) per cycle.
	WorkflowTasksPerCycle float64 `json:"workflow_tasks_per_cycle"`
	// PayloadBytesPerCycle is the average size of the events' serialized form.
	PayloadBytesPerCycle float64 `json:"history_bytes_per_cycle"`
}

// Aggregator accumulates cycles by kind.
type Aggregator struct {
	byKind map[string]*acc
	// Unusual keeps a few cycles whose event count is not their kind's usual one (7 for a
	// quiet post cycle), described event by event.
	Unusual []string
}

// usualEvents is the event count of a quiet cycle of each workflow: the post workflow's
// (timer, workflow task, two markers, timer) and the floor's (one marker).
var usualEvents = map[int]bool{6: true, 7: true}

// Describe lists a cycle's events: "TimerFired WorkflowTaskScheduled ... MarkerRecorded(LocalActivity:FetchMetrics)".
func Describe(events []*historypb.HistoryEvent) string {
	var b strings.Builder
	for i, e := range events {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(e.GetEventType().String())
		if m := e.GetMarkerRecordedEventAttributes(); m != nil {
			fmt.Fprintf(&b, "(%s wft=%d", m.GetMarkerName(), m.GetWorkflowTaskCompletedEventId())
			if m.GetFailure() != nil {
				b.WriteString(" failed")
			}
			b.WriteByte(')')
		}
		if t := e.GetWorkflowTaskTimedOutEventAttributes(); t != nil {
			fmt.Fprintf(&b, "(%s)", t.GetTimeoutType())
		}
		if f := e.GetWorkflowTaskFailedEventAttributes(); f != nil {
			fmt.Fprintf(&b, "(%s)", f.GetCause())
		}
	}
	return b.String()
}

type acc struct {
	cycles, events, wfts, bytes int
	types                       map[string]int
	actions                     Actions
}

// Add adds the cycles of one run. all is the run's whole history, used to find each cycle's
// previous event.
func (g *Aggregator) Add(all []*historypb.HistoryEvent, cycles []Cycle) {
	if g.byKind == nil {
		g.byKind = map[string]*acc{}
	}
	index := make(map[int64]int, len(all))
	for i, e := range all {
		index[e.GetEventId()] = i
	}
	for _, c := range cycles {
		a := g.byKind[c.Kind]
		if a == nil {
			a = &acc{types: map[string]int{}}
			g.byKind[c.Kind] = a
		}
		var prev *historypb.HistoryEvent
		if i, ok := index[c.Events[0].GetEventId()]; ok && i > 0 {
			prev = all[i-1]
		}
		a.cycles++
		a.events += len(c.Events)
		if c.Kind == KindQuiet && !usualEvents[len(c.Events)] && len(g.Unusual) < 3 {
			g.Unusual = append(g.Unusual, Describe(c.Events))
		}
		a.actions = a.actions.Add(CountActions(c.Events, prev))
		for _, e := range c.Events {
			a.types[e.GetEventType().String()]++
			a.bytes += proto.Size(e)
			if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED {
				a.wfts++
			}
		}
	}
}

// Stats returns the aggregate of one kind (zero when there was none).
func (g *Aggregator) Stats(kind string) CycleStats {
	a := g.byKind[kind]
	if a == nil || a.cycles == 0 {
		return CycleStats{}
	}
	n := float64(a.cycles)
	s := CycleStats{
		Cycles:                a.cycles,
		Events:                a.events,
		EventsPerCycle:        float64(a.events) / n,
		ActionsPerCycle:       float64(a.actions.Total()) / n,
		EventTypes:            map[string]float64{},
		Actions:               a.actions,
		WorkflowTasksPerCycle: float64(a.wfts) / n,
		PayloadBytesPerCycle:  float64(a.bytes) / n,
	}
	for t, c := range a.types {
		s.EventTypes[t] = float64(c) / n
	}
	return s
}

// Kinds lists the kinds seen, sorted.
func (g *Aggregator) Kinds() []string {
	var out []string
	for k := range g.byKind {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
