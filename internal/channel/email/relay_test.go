package email

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestParseRelayURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    Relay
		wantErr string
	}{
		{name: "starttls default", in: "smtp://u:p@smtp.example.com",
			want: Relay{Host: "smtp.example.com", Port: 587, Username: "u", Password: "p", TLS: TLSStartTLS}},
		{name: "smtps default port", in: "smtps://u:p@smtp.example.com",
			want: Relay{Host: "smtp.example.com", Port: 465, Username: "u", Password: "p", TLS: TLSImplicit}},
		{name: "implicit by parameter", in: "smtp://u:p@smtp.example.com?tls=implicit",
			want: Relay{Host: "smtp.example.com", Port: 465, Username: "u", Password: "p", TLS: TLSImplicit}},
		{name: "none port 25", in: "smtp://mx.internal?tls=none",
			want: Relay{Host: "mx.internal", Port: 25, TLS: TLSNone}},
		{name: "explicit port and options", in: "smtp://apikey:s3cr%40t%2F%3A@smtp.example.com:2525?tls=starttls&helo=avis.example.org&pool=8&rate=12.5",
			want: Relay{Host: "smtp.example.com", Port: 2525, Username: "apikey", Password: "s3cr@t/:", TLS: TLSStartTLS, HELO: "avis.example.org", Pool: 8, Rate: 12.5}},
		{name: "user with @ encoded", in: "smtp://me%40example.com:pw@smtp.example.com",
			want: Relay{Host: "smtp.example.com", Port: 587, Username: "me@example.com", Password: "pw", TLS: TLSStartTLS}},
		{name: "ipv6", in: "smtp://[2001:db8::1]:25?tls=none",
			want: Relay{Host: "2001:db8::1", Port: 25, TLS: TLSNone}},
		{name: "insecure on localhost", in: "smtp://127.0.0.1:2525?tls=starttls&insecure_skip_verify=1",
			want: Relay{Host: "127.0.0.1", Port: 2525, TLS: TLSStartTLS, InsecureSkipVerify: true}},
		{name: "credentials in clear on localhost", in: "smtp://u:p@localhost:25?tls=none",
			want: Relay{Host: "localhost", Port: 25, Username: "u", Password: "p", TLS: TLSNone}},
		{name: "uppercase scheme and mode", in: "SMTP://h.example?tls=STARTTLS",
			want: Relay{Host: "h.example", Port: 587, TLS: TLSStartTLS}},

		{name: "empty", in: " ", wantErr: "empty"},
		{name: "no scheme", in: "smtp.example.com:587", wantErr: "smtp://"},
		{name: "http", in: "http://smtp.example.com", wantErr: "must start with smtp:// or smtps://"},
		{name: "no host", in: "smtp://", wantErr: "no host"},
		{name: "path", in: "smtp://u:p@smtp.example.com/x", wantErr: "path"},
		{name: "unencoded slash in password", in: "smtp://u:pa/ss@smtp.example.com", wantErr: "smtp"},
		{name: "bad percent", in: "smtp://u:p%zz@smtp.example.com", wantErr: "'%' not followed by two hex digits"},
		{name: "bad tls", in: "smtp://h.example?tls=ssl", wantErr: "tls=starttls"},
		{name: "smtps with starttls", in: "smtps://h.example?tls=starttls", wantErr: "smtps:// is implicit TLS"},
		{name: "bad port", in: "smtp://h.example:0", wantErr: "from 1 to 65535"},
		{name: "pool zero", in: "smtp://h.example?pool=0", wantErr: "pool=0"},
		{name: "pool huge", in: "smtp://h.example?pool=1000", wantErr: "from 1 to 64"},
		{name: "rate negative", in: "smtp://h.example?rate=-1", wantErr: "messages per second"},
		{name: "rate nan", in: "smtp://h.example?rate=NaN", wantErr: "messages per second"},
		{name: "unknown param", in: "smtp://h.example?tsl=none", wantErr: `unknown parameter "tsl"`},
		{name: "param twice", in: "smtp://h.example?pool=1&pool=2", wantErr: "2 times"},
		{name: "bad helo", in: "smtp://h.example?helo=a%20b", wantErr: "helo="},
		{name: "user without password", in: "smtp://u@h.example", wantErr: "no password"},
		{name: "password without user", in: "smtp://:p@h.example", wantErr: "no user"},
		{name: "insecure on a real host", in: "smtp://h.example?insecure_skip_verify=1", wantErr: "only for a test relay"},
		{name: "insecure with none", in: "smtp://localhost?tls=none&insecure_skip_verify=1", wantErr: "means nothing"},
		{name: "credentials in clear", in: "smtp://u:p@h.example?tls=none", wantErr: "in clear"},
		{name: "line break", in: "smtp://h.example\r\n?tls=none", wantErr: "control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseRelayURL(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseRelayURL(%q) = %+v, %v; want an error with %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRelayURL(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseRelayURL(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

// TestRelayErrorsHideThePassword checks that no parse error repeats the
// password, whatever is wrong with the URL.
func TestRelayErrorsHideThePassword(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"smtp://u:Hunter2secret@h.example/path",
		"smtp://u:Hunter2secret%zz@h.example",
		"smtp://u:Hunter2secret@h.example:99999",
		"smtp://u:Hunter2secret@h.example?tls=none",
		"smtp://u:Hunter2secret@h.example?x=1",
		"ftp://u:Hunter2secret@h.example",
		"smtp://u:Hunter2secret@h ex",
	} {
		_, err := ParseRelayURL(in)
		if err == nil {
			t.Fatalf("ParseRelayURL(%q) accepted", in)
		}
		if strings.Contains(err.Error(), "Hunter2") {
			t.Fatalf("error for %q shows the password: %v", in, err)
		}
	}
}

func TestRelayString(t *testing.T) {
	t.Parallel()
	r, err := ParseRelayURL("smtp://apikey:very%2Fsecret@smtp.example.com?pool=2&rate=50")
	if err != nil {
		t.Fatal(err)
	}
	s := r.String()
	if strings.Contains(s, "very") || strings.Contains(s, "secret") {
		t.Fatalf("String() shows the password: %s", s)
	}
	if want := "smtp://apikey:REDACTED@smtp.example.com:587?pool=2&rate=50&tls=starttls"; s != want {
		t.Fatalf("String() = %s, want %s", s, want)
	}
	if s := fmtV(r); strings.Contains(s, "secret") {
		t.Fatalf("%%v shows the password: %s", s)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("relay", "relay", r, "any", any(r))
	j, _ := json.Marshal(r)
	if strings.Contains(logged.String(), "secret") || strings.Contains(string(j), "secret") {
		t.Fatalf("slog or JSON shows the password: %s %s", logged.String(), j)
	}
	back, err := ParseRelayURL(r.url(false))
	if err != nil || back != r {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
}

// FuzzParseRelayURL checks the parser never panics, that whatever it accepts
// prints without the password and reads back to the same Relay.
func FuzzParseRelayURL(f *testing.F) {
	for _, s := range []string{
		"smtp://u:p@smtp.example.com",
		"smtps://u:p%40@h:465?pool=3&rate=0.5&helo=x.y",
		"smtp://127.0.0.1:2525?tls=none&insecure_skip_verify=0",
		"smtp://[::1]:25?tls=starttls&insecure_skip_verify=1",
		"smtp://u:%zz@h",
		"smtp://h?tls=none&tls=none",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRelayURL(s)
		if err != nil {
			return
		}
		if r.Host == "" || r.Port < 1 || r.Port > 65535 || r.Pool < 0 || r.Pool > MaxPool || r.Rate < 0 {
			t.Fatalf("accepted %q as %+v", s, r)
		}
		red := r
		if red.Password != "" {
			red.Password = "REDACTED"
		}
		if r.String() != red.url(false) {
			t.Fatalf("String() of %q shows the password", s)
		}
		back, err := ParseRelayURL(r.url(false))
		if err != nil {
			t.Fatalf("%q parsed as %+v, printed as %q, which does not parse: %v", s, r, r.url(false), err)
		}
		if back != r {
			t.Fatalf("%q: round trip %+v != %+v", s, back, r)
		}
	})
}

func fmtV(r Relay) string { return fmt.Sprintf("%v %+v %#v %s", r, r, r, []Relay{r}) }
