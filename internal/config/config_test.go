package config_test

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"avis/internal/config"
)

func load(t *testing.T, args []string, env map[string]string) (config.Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return config.Load(fs, args, func(k string) string { return env[k] })
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "avis.conf")
	os.WriteFile(file, []byte("# comment\nAVIS_ADDR=:7000\nAVIS_ROLE=worker\nAVIS_LOG_LEVEL=debug\n"), 0o600)
	secret := filepath.Join(dir, "db-url")
	os.WriteFile(secret, []byte("postgres://u:p@h/db\n"), 0o600)
	c, err := load(t, []string{"--addr", ":9000"}, map[string]string{
		"AVIS_CONFIG_FILE": file, "AVIS_ROLE": "web", "AVIS_SESSION_TTL": "2h", "AVIS_DATABASE_URL_FILE": secret,
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":9000" || c.Role != "web" || c.LogLevel != "debug" || c.SessionTTL != 2*time.Hour || c.DatabaseURL != "postgres://u:p@h/db" || c.Data != "./avis-data" {
		t.Fatalf("got %+v", c)
	}
}

func TestBadInput(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bad role", nil, map[string]string{"AVIS_ROLE": "boss"}, "use all, web or worker"},
		{"bad duration", nil, map[string]string{"AVIS_SESSION_TTL": "soon"}, "duration"},
		{"bad number", nil, map[string]string{"AVIS_JOB_WORKERS": "many"}, "whole number"},
		{"bad bool flag", []string{"--demo=maybe"}, nil, "invalid boolean"},
		{"half TLS", nil, map[string]string{"AVIS_TLS_CERT_FILE": "/x"}, "go together"},
		{"bad base url", nil, map[string]string{"AVIS_BASE_URL": "avis.example.com"}, "full URL"},
		{"missing secret file", nil, map[string]string{"AVIS_DATABASE_URL_FILE": "/nonexistent/x"}, "AVIS_DATABASE_URL_FILE"},
		{"unknown file key", nil, map[string]string{"AVIS_CONFIG_FILE": writeTemp(t, "AVIS_NOPE=1\n")}, "line 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := load(t, c.args, c.env)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to say %q", err, c.want)
			}
		})
	}
}

func writeTemp(t *testing.T, s string) string {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, []byte(s), 0o600)
	return p
}

// TestDocumented fails when docs/configuration.md misses a setting.
func TestDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range config.Settings() {
		if !strings.Contains(string(b), "`"+s.Env+"`") {
			t.Errorf("docs/configuration.md does not document %s", s.Env)
		}
	}
}

// FuzzParseFile: any file either parses into known names only, or is refused
// with an error; it never panics.
func FuzzParseFile(f *testing.F) {
	f.Add("AVIS_ADDR=:80\n# c\n\nAVIS_ROLE='web'\n")
	f.Add("AVIS_NOPE=1")
	f.Add("=\n==\nAVIS_ADDR")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := config.ParseFile(strings.NewReader(s))
		if err != nil {
			return
		}
		known := map[string]bool{}
		for _, st := range config.Settings() {
			known[st.Env] = true
		}
		for k := range m {
			if !known[k] {
				t.Fatalf("unknown name %q accepted", k)
			}
		}
	})
}
