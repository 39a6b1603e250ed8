package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
)

// The floor (-floor) is the most this machine allows whatever avis does:
// the same clients answer the same survey, but against a stub server that
// replays the pages avis served for one invitation, with nothing behind
// them: no database, no template, no check. Its responses per second are
// what the clients and Go's HTTP on loopback allow on these cores before
// avis does any work.

// tokenMark stands for the invitation's token in a recorded page.
const tokenMark = "\x00TOKEN\x00"

// step is one recorded answer of avis: its status, headers and body (the
// token replaced by tokenMark), in the order the browser asked for them.
type step struct {
	Status int         `json:"status"`
	Header http.Header `json:"header"`
	Body   string      `json:"body"`
}

// recorder keeps the answers avis gives to one browser.
type recorder struct {
	token string
	steps []step
}

func (r *recorder) add(res *http.Response, body []byte) {
	h := http.Header{}
	for _, k := range []string{"Content-Type", "Content-Security-Policy", "Cache-Control", "Referrer-Policy",
		"X-Content-Type-Options", "X-Frame-Options", "Location"} {
		if v := res.Header.Get(k); v != "" {
			h.Set(k, strings.ReplaceAll(v, r.token, tokenMark))
		}
	}
	r.steps = append(r.steps, step{Status: res.StatusCode, Header: h, Body: strings.ReplaceAll(string(body), r.token, tokenMark)})
}

// record answers the invitation token through avis at base as the
// benchmark's browser does, and returns every answer avis gave.
func record(c *http.Client, base, token string) ([]step, error) {
	b := &browser{client: c, base: base, rng: newRand(0), rec: &recorder{token: token}}
	if err := b.answer(token); err != nil {
		return nil, fmt.Errorf("record the pages of an invitation: %w", err)
	}
	return b.rec.steps, nil
}

// startStub starts this program as the stub server on addr, replaying
// steps, and returns the process.
func startStub(dir, addr string, steps []step) (*exec.Cmd, error) {
	f := dir + "/pages.json"
	b, err := json.Marshal(steps)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(f, b, 0o600); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-stub", f, "-stub-addr", addr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the stub server: %w", err)
	}
	return cmd, nil
}

// stub serves the recorded steps on addr: each invitation's n-th request,
// whatever it is, gets the n-th recorded answer with its own token.
func stub(file, addr string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var steps []step
	if err := json.Unmarshal(b, &steps); err != nil {
		return err
	}
	if len(steps) == 0 {
		return errors.New("no recorded pages")
	}
	type part struct {
		header http.Header
		body   []string // cut at the token
	}
	parts := make([]part, len(steps))
	for i, s := range steps {
		parts[i] = part{header: s.Header, body: strings.Split(s.Body, tokenMark)}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/s/", func(w http.ResponseWriter, r *http.Request) {
		token, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/s/"), "/")
		if r.Method == http.MethodPost {
			r.ParseForm()
		}
		mu.Lock()
		n := seen[token]
		seen[token] = n + 1
		mu.Unlock()
		if n >= len(steps) {
			http.Error(w, "no more recorded pages", http.StatusGone)
			return
		}
		for k, v := range parts[n].header {
			w.Header()[k] = []string{strings.ReplaceAll(v[0], tokenMark, token)}
		}
		w.WriteHeader(steps[n].Status)
		for i, p := range parts[n].body {
			if i > 0 {
				w.Write([]byte(token))
			}
			w.Write([]byte(p))
		}
	})
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return http.Serve(l, mux)
}
