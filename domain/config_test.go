package domain

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	want := EvaluationConfig{
		Window:              90 * time.Minute,
		MinSamples:          3,
		SampleInterval:      10 * time.Minute,
		CommentCooldown:     30 * time.Minute,
		EditCooldown:        2 * time.Hour,
		ThreadCooldown:      3 * time.Hour,
		QuoteCooldown:       2 * time.Hour, // the edit's: a quote is Bluesky's tier 2
		MaxActionsPerWindow: 2,
		Horizon:             48 * time.Hour,
		ApprovalTimeout:     6 * time.Hour,
		Cadence:             CadenceAdaptive,
	}
	if c != want {
		t.Fatalf("DefaultConfig() = %+v, want %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	for a, want := range map[ActionType]time.Duration{
		ActionComment: 30 * time.Minute, ActionEdit: 2 * time.Hour, ActionThread: 3 * time.Hour, ActionQuote: 2 * time.Hour, "bogus": 0,
	} {
		if got := c.Cooldown(a); got != want {
			t.Errorf("Cooldown(%q) = %s, want %s", a, got, want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		name  string
		edit  func(c *EvaluationConfig)
		field string // "" = valid
	}{
		{"defaults", func(c *EvaluationConfig) {}, ""},

		{"window zero", func(c *EvaluationConfig) { c.Window = 0 }, "config.window"},
		{"window negative", func(c *EvaluationConfig) { c.Window = -time.Minute }, "config.window"},
		{"window below 1s", func(c *EvaluationConfig) { c.Window, c.SampleInterval = time.Second-time.Nanosecond, time.Second }, "config.window"},
		{"window 1s (inclusive)", func(c *EvaluationConfig) { c.Window, c.SampleInterval = time.Second, time.Second }, ""},
		{"window 30d (inclusive)", func(c *EvaluationConfig) { c.Window = 30 * day }, ""},
		{"window above 30d", func(c *EvaluationConfig) { c.Window = 30*day + time.Nanosecond }, "config.window"},

		{"min_samples 0", func(c *EvaluationConfig) { c.MinSamples = 0 }, "config.min_samples"},
		{"min_samples negative", func(c *EvaluationConfig) { c.MinSamples = -1 }, "config.min_samples"},
		{"min_samples 1 (inclusive)", func(c *EvaluationConfig) { c.MinSamples = 1 }, ""},
		{"min_samples 1000 (inclusive)", func(c *EvaluationConfig) { c.MinSamples = 1000 }, ""},
		{"min_samples 1001", func(c *EvaluationConfig) { c.MinSamples = 1001 }, "config.min_samples"},

		{"sample_interval zero", func(c *EvaluationConfig) { c.SampleInterval = 0 }, "config.sample_interval"},
		{"sample_interval below 1s", func(c *EvaluationConfig) { c.SampleInterval = time.Second - time.Nanosecond }, "config.sample_interval"},
		{"sample_interval 1s (inclusive)", func(c *EvaluationConfig) { c.SampleInterval = time.Second }, ""},
		{"sample_interval equal to window (inclusive)", func(c *EvaluationConfig) { c.SampleInterval = c.Window }, ""},
		{"sample_interval above window", func(c *EvaluationConfig) { c.SampleInterval = c.Window + time.Nanosecond }, "config.sample_interval"},

		{"comment_cooldown negative", func(c *EvaluationConfig) { c.CommentCooldown = -time.Nanosecond }, "config.comment_cooldown"},
		{"comment_cooldown 0 (inclusive)", func(c *EvaluationConfig) { c.CommentCooldown = 0 }, ""},
		{"comment_cooldown 30d (inclusive)", func(c *EvaluationConfig) { c.CommentCooldown = 30 * day }, ""},
		{"comment_cooldown above 30d", func(c *EvaluationConfig) { c.CommentCooldown = 30*day + time.Nanosecond }, "config.comment_cooldown"},
		{"edit_cooldown negative", func(c *EvaluationConfig) { c.EditCooldown = -time.Nanosecond }, "config.edit_cooldown"},
		{"edit_cooldown 0 (inclusive)", func(c *EvaluationConfig) { c.EditCooldown = 0 }, ""},
		{"edit_cooldown 30d (inclusive)", func(c *EvaluationConfig) { c.EditCooldown = 30 * day }, ""},
		{"edit_cooldown above 30d", func(c *EvaluationConfig) { c.EditCooldown = 30*day + time.Nanosecond }, "config.edit_cooldown"},
		{"thread_cooldown negative", func(c *EvaluationConfig) { c.ThreadCooldown = -time.Nanosecond }, "config.thread_cooldown"},
		{"thread_cooldown 0 (inclusive)", func(c *EvaluationConfig) { c.ThreadCooldown = 0 }, ""},
		{"thread_cooldown 30d (inclusive)", func(c *EvaluationConfig) { c.ThreadCooldown = 30 * day }, ""},
		{"thread_cooldown above 30d", func(c *EvaluationConfig) { c.ThreadCooldown = 30*day + time.Nanosecond }, "config.thread_cooldown"},

		{"max_actions_per_window 0", func(c *EvaluationConfig) { c.MaxActionsPerWindow = 0 }, "config.max_actions_per_window"},
		{"max_actions_per_window negative", func(c *EvaluationConfig) { c.MaxActionsPerWindow = -2 }, "config.max_actions_per_window"},
		{"max_actions_per_window 1 (inclusive)", func(c *EvaluationConfig) { c.MaxActionsPerWindow = 1 }, ""},
		{"max_actions_per_window 100 (inclusive)", func(c *EvaluationConfig) { c.MaxActionsPerWindow = 100 }, ""},
		{"max_actions_per_window 101", func(c *EvaluationConfig) { c.MaxActionsPerWindow = 101 }, "config.max_actions_per_window"},

		{"horizon zero", func(c *EvaluationConfig) { c.Horizon = 0 }, "config.horizon"},
		{"horizon below the sample interval", func(c *EvaluationConfig) { c.Horizon = c.SampleInterval - time.Nanosecond }, "config.horizon"},
		{"horizon equal to the sample interval (inclusive)", func(c *EvaluationConfig) { c.Horizon = c.SampleInterval }, ""},
		{"horizon 365d (inclusive)", func(c *EvaluationConfig) { c.Horizon = 365 * day }, ""},
		{"horizon above 365d", func(c *EvaluationConfig) { c.Horizon = 365*day + time.Nanosecond }, "config.horizon"},
		{"horizon below the window is fine", func(c *EvaluationConfig) { c.Horizon = time.Hour }, ""},

		{"first bad field is named: window before min_samples", func(c *EvaluationConfig) { c.Window, c.MinSamples = 0, 0 }, "config.window"},
		{"first bad field is named: cooldowns in order", func(c *EvaluationConfig) { c.EditCooldown, c.ThreadCooldown = -1, -1 }, "config.edit_cooldown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			wantFieldErr(t, err, tc.field)
		})
	}
}

func TestConfigJSONRoundTrip(t *testing.T) {
	configs := []EvaluationConfig{
		DefaultConfig(),
		{
			Window: 17*time.Minute + 3*time.Second + 7*time.Millisecond, MinSamples: 1000,
			SampleInterval: time.Second, CommentCooldown: 0, EditCooldown: time.Nanosecond,
			ThreadCooldown: 30 * 24 * time.Hour, MaxActionsPerWindow: 100, Horizon: 365 * 24 * time.Hour,
		},
	}
	for _, c := range configs {
		data, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var back EvaluationConfig
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatalf("unmarshal %s: %v", data, err)
		}
		if back != c {
			t.Fatalf("round trip of %s: got %+v, want %+v", data, back, c)
		}
	}
	data, _ := json.Marshal(DefaultConfig())
	const want = `{"window":"1h30m0s","min_samples":3,"sample_interval":"10m0s","comment_cooldown":"30m0s",` +
		`"edit_cooldown":"2h0m0s","thread_cooldown":"3h0m0s","quote_cooldown":"2h0m0s","max_actions_per_window":2,"horizon":"48h0m0s","approval_timeout":"6h0m0s","cadence":"adaptive"}`
	if string(data) != want {
		t.Fatalf("defaults marshal to\n%s\nwant\n%s", data, want)
	}
	// A config without an approval timeout (every post started before it existed) writes as
	// it always did, and reads back with the default wait.
	old := DefaultConfig()
	old.ApprovalTimeout = 0
	data, _ = json.Marshal(old)
	if strings.Contains(string(data), "approval_timeout") || old.ApprovalWait() != DefaultApprovalTimeout {
		t.Fatalf("a config without approval_timeout marshals to %s (wait %s)", data, old.ApprovalWait())
	}
	// Nor a cadence (every post started before it existed): it reads back fixed.
	old.Cadence = ""
	data, _ = json.Marshal(old)
	var back EvaluationConfig
	if err := json.Unmarshal(data, &back); err != nil || strings.Contains(string(data), "cadence") || back.Adaptive() {
		t.Fatalf("a config without a cadence marshals to %s and reads back adaptive=%v (%v)", data, back.Adaptive(), err)
	}
}

func TestConfigJSONOverride(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     func(c *EvaluationConfig) // applied to the defaults
		field    string                    // UnmarshalJSON error naming this field
		validate string                    // Validate error naming this field
	}{
		{name: "empty object keeps every default", in: `{}`, want: func(*EvaluationConfig) {}},
		{name: "one duration", in: `{"window":"2h"}`, want: func(c *EvaluationConfig) { c.Window = 2 * time.Hour }},
		{name: "compound duration", in: `{"edit_cooldown":"1h30m"}`, want: func(c *EvaluationConfig) { c.EditCooldown = 90 * time.Minute }},
		{name: "one int", in: `{"max_actions_per_window":5}`, want: func(c *EvaluationConfig) { c.MaxActionsPerWindow = 5 }},
		{
			name: "all fields",
			in: `{"window":"60m","min_samples":4,"sample_interval":"5m","comment_cooldown":"1m",` +
				`"edit_cooldown":"2m","thread_cooldown":"3m","quote_cooldown":"4m","max_actions_per_window":3,"horizon":"24h","approval_timeout":"2h",` +
				`"cadence":"fixed","max_sample_interval":"20m"}`,
			want: func(c *EvaluationConfig) {
				*c = EvaluationConfig{Window: time.Hour, MinSamples: 4, SampleInterval: 5 * time.Minute, CommentCooldown: time.Minute,
					EditCooldown: 2 * time.Minute, ThreadCooldown: 3 * time.Minute, QuoteCooldown: 4 * time.Minute, MaxActionsPerWindow: 3, Horizon: 24 * time.Hour,
					ApprovalTimeout: 2 * time.Hour, Cadence: CadenceFixed, MaxSampleInterval: 20 * time.Minute}
			},
		},
		{name: "adaptive cadence", in: `{"cadence":"adaptive","max_sample_interval":"30m"}`,
			want: func(c *EvaluationConfig) { c.Cadence, c.MaxSampleInterval = CadenceAdaptive, 30*time.Minute }},
		{name: "unknown cadence", in: `{"cadence":"weekly"}`, want: func(c *EvaluationConfig) { c.Cadence = "weekly" }, validate: "config.cadence"},
		{name: "cadence as a number", in: `{"cadence":2}`, field: "config.cadence"},
		{name: "sparsest interval below the sample interval", in: `{"max_sample_interval":"5m"}`,
			want: func(c *EvaluationConfig) { c.MaxSampleInterval = 5 * time.Minute }, validate: "config.max_sample_interval"},
		{name: "sparsest interval past the window", in: `{"max_sample_interval":"2h"}`,
			want: func(c *EvaluationConfig) { c.MaxSampleInterval = 2 * time.Hour }, validate: "config.max_sample_interval"},
		{
			name: "approval timeout past the horizon bound", in: `{"approval_timeout":"9000h"}`,
			want: func(c *EvaluationConfig) { c.ApprovalTimeout = 9000 * time.Hour }, validate: "config.approval_timeout",
		},
		{
			name: "negative approval timeout", in: `{"approval_timeout":"-1m"}`,
			want: func(c *EvaluationConfig) { c.ApprovalTimeout = -time.Minute }, validate: "config.approval_timeout",
		},
		{
			name: "explicit zero int is kept, then rejected by Validate", in: `{"max_actions_per_window":0}`,
			want: func(c *EvaluationConfig) { c.MaxActionsPerWindow = 0 }, validate: "config.max_actions_per_window",
		},
		{
			name: "explicit zero min_samples is kept, then rejected", in: `{"min_samples":0}`,
			want: func(c *EvaluationConfig) { c.MinSamples = 0 }, validate: "config.min_samples",
		},
		{
			name: "explicit zero window is kept, then rejected", in: `{"window":"0s"}`,
			want: func(c *EvaluationConfig) { c.Window = 0 }, validate: "config.window",
		},
		{
			name: "explicit zero cooldown is kept and valid", in: `{"thread_cooldown":"0s"}`,
			want: func(c *EvaluationConfig) { c.ThreadCooldown = 0 },
		},
		{
			name: "negative cooldown is kept, then rejected", in: `{"comment_cooldown":"-1m"}`,
			want: func(c *EvaluationConfig) { c.CommentCooldown = -time.Minute }, validate: "config.comment_cooldown",
		},
		{name: "unknown field", in: `{"window":"2h","windw":"3h"}`, field: "config.windw"},
		{name: "bad duration string", in: `{"window":"90 minutes"}`, field: "config.window"},
		{name: "empty duration string", in: `{"horizon":""}`, field: "config.horizon"},
		{name: "duration without unit", in: `{"sample_interval":"600"}`, field: "config.sample_interval"},
		{name: "duration as a number", in: `{"edit_cooldown":7200}`, field: "config.edit_cooldown"},
		{name: "int as a string", in: `{"min_samples":"3"}`, field: "config.min_samples"},
		{name: "fractional int", in: `{"max_actions_per_window":1.5}`, field: "config.max_actions_per_window"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			err := json.Unmarshal([]byte(tc.in), &c)
			if tc.field != "" {
				wantFieldErr(t, err, tc.field)
				return
			}
			if err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			want := DefaultConfig()
			tc.want(&want)
			if c != want {
				t.Fatalf("got %+v, want %+v", c, want)
			}
			err = c.Validate()
			if tc.validate == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			wantFieldErr(t, err, tc.validate)
		})
	}
}

func TestConfigJSONNotAnObject(t *testing.T) {
	for _, in := range []string{`[]`, `"90m"`, `3`} {
		c := DefaultConfig()
		err := json.Unmarshal([]byte(in), &c)
		if err == nil || !strings.Contains(err.Error(), "config") {
			t.Errorf("%s: got %v, want an error naming config", in, err)
		}
	}
}
