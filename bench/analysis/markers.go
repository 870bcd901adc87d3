package analysis

import (
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"
)

// Local activity markers (the SDK's "LocalActivity" marker, its "data" detail).
const (
	localActivityMarker = "LocalActivity"
	localActivityData   = "data"
	// ActivityFetchMetrics is the post workflow's metrics read.
	ActivityFetchMetrics = "FetchMetrics"
)

// LocalActivityType is the activity type a local activity marker recorded ("" for another
// marker, or one it cannot read).
func LocalActivityType(m *historypb.MarkerRecordedEventAttributes) string {
	if m.GetMarkerName() != localActivityMarker {
		return ""
	}
	var data struct{ ActivityType string }
	if err := converter.GetDefaultDataConverter().FromPayloads(m.GetDetails()[localActivityData], &data); err != nil {
		return ""
	}
	return data.ActivityType
}

// CountLocalActivities counts the local activities of a type that a history recorded.
func CountLocalActivities(events []*historypb.HistoryEvent, activityType string) int {
	n := 0
	for _, e := range events {
		if m := e.GetMarkerRecordedEventAttributes(); m != nil && LocalActivityType(m) == activityType {
			n++
		}
	}
	return n
}
