package devserver

import (
	"testing"
	"time"

	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
)

// The server reads devDynamicConfig through its typed settings: a value of the wrong type
// is ignored with a log line and the server's default used instead, so check what the
// settings return, not the map.
func TestDevDynamicConfigAsTheServerReadsIt(t *testing.T) {
	opts, err := Options{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	col := dynamicconfig.NewCollection(devDynamicConfig(opts), log.NewNoopLogger())
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"timer reads per second", dynamicconfig.TimerProcessorMaxPollRPS.Get(col)(), 10},
		{"timer read batch", dynamicconfig.TimerTaskBatchSize.Get(col)(), 1000},
		{"timer checkpoint", dynamicconfig.TimerProcessorUpdateAckInterval.Get(col)(), 10 * time.Second},
		{"history cache", dynamicconfig.HistoryCacheHostLevelMaxSize.Get(col)(), DefaultHistoryCacheSize},
		{"history page", dynamicconfig.HistoryMaxPageSize.Get(col)(""), 8192},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}
