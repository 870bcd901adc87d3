package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"resurge/domain"
	"resurge/platform/mastodon"
)

const mastodonTestToken = "mastodon-token-in-env-5e0c"

func clearPlatformEnv(t *testing.T) {
	for _, v := range []string{EnvSimURL, EnvSimToken, EnvSimTokenFile, EnvMastodonURL, EnvMastodonToken, EnvMastodonTokenFile} {
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
