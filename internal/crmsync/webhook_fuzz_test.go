package crmsync

import (
	"fmt"
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

// TestTranslateProblem: every stored delivery problem is found back with
// its arguments, a nested one too, and an unknown text is left alone.
func TestTranslateProblem(t *testing.T) {
	mark := func(f string, args ...any) string { return "T[" + fmt.Sprintf(f, args...) + "]" }
	for _, f := range ProblemMessages {
		args := make([]any, strings.Count(f, "%s"))
		for i := range args {
			args[i] = fmt.Sprintf("arg %d, with: punctuation.", i)
		}
		stored := fmt.Sprintf(f, args...)
		if got, want := TranslateProblem(stored, mark), "T["+stored+"]"; got != want {
			t.Errorf("%q: %q, want %q", f, got, want)
		}
	}
	nested := fmt.Sprintf(probGaveUp, "72 hours", fmt.Sprintf(probStatus, "500", "Internal Server Error"))
	if got := TranslateProblem(nested, mark); got != "T[Deliveries kept failing for 72 hours. The last attempt: T[The endpoint answered 500 Internal Server Error.]]" {
		t.Errorf("nested: %q", got)
	}
	if got := TranslateProblem("something else", mark); got != "something else" {
		t.Errorf("unknown: %q", got)
	}
}
