package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"resurge/domain"
	"resurge/platform/bluesky"
	"resurge/platform/mastodon"
)

const mastodonTestToken = "mastodon-token-in-env-5e0c"

func clearPlatformEnv(t *testing.T) {
	for _, v := range []string{EnvSimURL, EnvSimToken, EnvSimTokenFile, EnvMastodonURL, EnvMastodonToken, EnvMastodonTokenFile,
		EnvBlueskyService, EnvBlueskyHandle, EnvBlueskyAppPassword, EnvBlueskyAppPasswordFile} {
		t.Setenv(v, "")
	}
}

func TestMastodonFromEnv(t *testing.T) {
	clearPlatformEnv(t)
	t.Setenv(EnvMastodonURL, "https://mastodon.example")
	t.Setenv(EnvMastodonToken, mastodonTestToken)
	cfg, err := PlatformConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	ps, err := Platforms(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ps[domain.PlatformMastodon].(*mastodon.Client); !ok || len(ps) != 1 {
		t.Fatalf("platforms %v, want mastodon only", ps)
	}
}

func TestMastodonTokenFromFile(t *testing.T) {
	clearPlatformEnv(t)
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(mastodonTestToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvMastodonURL, "https://mastodon.example")
	t.Setenv(EnvMastodonTokenFile, path)
	cfg, err := PlatformConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MastodonToken != mastodonTestToken {
		t.Fatalf("token from the file not read (or not trimmed)")
	}
	if ps, err := Platforms(cfg); err != nil || ps[domain.PlatformMastodon] == nil {
		t.Fatalf("platforms %v, %v", ps, err)
	}
}

func TestMastodonMisconfigured(t *testing.T) {
	// No URL: no adapter, even with a token.
	ps, err := Platforms(PlatformConfig{MastodonToken: mastodonTestToken})
	if err != nil || len(ps) != 0 {
		t.Fatalf("platforms %v, %v; want none", ps, err)
	}
	// A URL without a token.
	_, err = Platforms(PlatformConfig{MastodonURL: "https://mastodon.example"})
	if err == nil || !strings.Contains(err.Error(), EnvMastodonToken) || !strings.Contains(err.Error(), EnvMastodonTokenFile) {
		t.Fatalf("error %v, want one naming %s and %s", err, EnvMastodonToken, EnvMastodonTokenFile)
	}
	// The two settings swapped: the error must not quote the token.
	_, err = Platforms(PlatformConfig{MastodonURL: mastodonTestToken, MastodonToken: "https://mastodon.example"})
	if err == nil || !strings.Contains(err.Error(), EnvMastodonURL) || strings.Contains(err.Error(), mastodonTestToken) {
		t.Fatalf("error %v, want one naming %s without quoting the token", err, EnvMastodonURL)
	}
	_, err = Platforms(PlatformConfig{MastodonURL: "mastodon.example/" + mastodonTestToken, MastodonToken: mastodonTestToken})
	if err == nil || strings.Contains(err.Error(), mastodonTestToken) {
		t.Fatalf("error %v leaks the token or is missing", err)
	}
	// A token file that cannot be read.
	clearPlatformEnv(t)
	t.Setenv(EnvMastodonTokenFile, filepath.Join(t.TempDir(), "missing"))
	if _, err := PlatformConfigFromEnv(); err == nil || !strings.Contains(err.Error(), EnvMastodonTokenFile) {
		t.Fatalf("error %v, want one naming %s", err, EnvMastodonTokenFile)
	}
}

const blueskyTestPassword = "abcd-efgh-ijkl-mnop"

func TestBlueskyFromEnv(t *testing.T) {
	clearPlatformEnv(t)
	path := filepath.Join(t.TempDir(), "app-password")
	if err := os.WriteFile(path, []byte(blueskyTestPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvBlueskyHandle, "you.bsky.social")
	t.Setenv(EnvBlueskyAppPasswordFile, path)
	cfg, err := PlatformConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BlueskyAppPassword != blueskyTestPassword || cfg.BlueskyService != "" {
		t.Fatalf("config %+v: the password file not read (or not trimmed)", cfg)
	}
	ps, err := Platforms(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ps[domain.PlatformBluesky].(*bluesky.Client); !ok || len(ps) != 1 {
		t.Fatalf("platforms %v, want bluesky only", ps)
	}
	// A PDS of one's own.
	t.Setenv(EnvBlueskyService, "https://pds.example")
	t.Setenv(EnvBlueskyAppPassword, blueskyTestPassword)
	if cfg, err = PlatformConfigFromEnv(); err != nil || cfg.BlueskyService != "https://pds.example" {
		t.Fatalf("config %+v, %v", cfg, err)
	}
	if _, err := Platforms(cfg); err != nil {
		t.Fatal(err)
	}
}

func TestBlueskyMisconfigured(t *testing.T) {
	tests := []struct {
		name string
		cfg  PlatformConfig
		want []string // in the error
	}{
		{"a handle without a password", PlatformConfig{BlueskyHandle: "you.bsky.social"}, []string{EnvBlueskyAppPassword, EnvBlueskyAppPasswordFile}},
		{"a password without a handle", PlatformConfig{BlueskyAppPassword: blueskyTestPassword}, []string{EnvBlueskyHandle}},
		{"plain http to another machine", PlatformConfig{BlueskyHandle: "you", BlueskyAppPassword: blueskyTestPassword, BlueskyService: "http://pds.example"},
			[]string{EnvBlueskyService, "https"}},
		{"the password as the service", PlatformConfig{BlueskyHandle: "you", BlueskyAppPassword: blueskyTestPassword, BlueskyService: blueskyTestPassword},
			[]string{EnvBlueskyService}},
	}
	for _, tc := range tests {
		_, err := Platforms(tc.cfg)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v does not name %s", tc.name, err, w)
			}
		}
		if strings.Contains(err.Error(), blueskyTestPassword) {
			t.Errorf("%s: %v quotes the password", tc.name, err)
		}
	}
}
