package crmsync

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzEndpointURL: an endpoint URL from outside never panics the parser;
// one accepted is absolute https (or http when allowed), with a host and
// no user information or fragment, and parses the same again.
func FuzzEndpointURL(f *testing.F) {
	for _, s := range []string{"https://crm.example.com/avis/webhook", "http://10.0.0.1:8080/x", "https://user:pw@h/", "https://h/#f",
		"https://[::1]:99999/", "ftp://h/", "", "https://", "https://h/%zz", "https://h:0/", "HTTPS://H/"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, allowHTTP bool) {
		u, err := parseEndpointURL(raw, allowHTTP)
		if err != nil {
			if _, ok := err.(*FieldError); !ok {
				t.Fatalf("%q: error %T, want a *FieldError", raw, err)
			}
			return
		}
		scheme := strings.ToLower(u.Scheme)
		if u.Host == "" || u.User != nil || u.Fragment != "" || (scheme != "https" && !(allowHTTP && scheme == "http")) {
			t.Fatalf("%q accepted as %#v", raw, u)
		}
		again, err := url.Parse(u.String())
		if err != nil || again.Host != u.Host {
			t.Fatalf("%q: %q does not parse the same again: %v", raw, u.String(), err)
		}
	})
}
