package crmsync

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"avis/internal/feed"
	"avis/internal/jobs"
)

// verifySpec checks a delivery's signature exactly as the Standard
// Webhooks specification says, written from the spec (not from avis's
// code): the signed content is id + "." + timestamp + "." + body, the key
// the base64 after "whsec_", the header a space-separated list of
// "v1,<base64 HMAC-SHA256>", and the timestamp within five minutes.
func verifySpec(secret string, h http.Header, body []byte) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing webhook headers")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("bad timestamp %q", ts)
	}
	if d := time.Since(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("timestamp %s is too far from now", ts)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, s := range strings.Split(sigs, " ") {
		v, sig, _ := strings.Cut(s, ",")
		if v == "v1" && hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return errors.New("no matching signature")
}

// hit is one request the receiver got.
type hit struct {
	id, typ string
	seq     int64
	at      time.Time
	body    []byte
}

// receiver is a webhook endpoint on loopback that checks every signature
// (with verifySpec and with the Standard Webhooks Go library), counts and
// orders what it gets, and can be made slow, failing, gone, redirecting or
// down.
type receiver struct {
	t    *testing.T
	addr string
	srv  *http.Server

	mu      sync.Mutex
	secret  string
	hits    []hit
	bad     []string
	mode    string // "", "500", "410", "redirect", "slow"
	fails   int    // with mode "500": fail this many more times, then answer 200 (-1: always)
	slowFor time.Duration
}

func newReceiver(t *testing.T) *receiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{t: t, addr: ln.Addr().String()}
	r.serve(ln)
	t.Cleanup(r.stop)
	return r
}

func (r *receiver) url() string { return "http://" + r.addr + "/hook" }

func (r *receiver) serve(ln net.Listener) {
	r.srv = &http.Server{Handler: r}
	go r.srv.Serve(ln)
}

// stop takes the receiver down: connections are refused.
func (r *receiver) stop() {
	if r.srv != nil {
		r.srv.Close()
		r.srv = nil
	}
}

// start brings it back on the same address.
func (r *receiver) start() {
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatal(err)
	}
	r.serve(ln)
}

func (r *receiver) set(mode string, fails int) {
	r.mu.Lock()
	r.mode, r.fails = mode, fails
	r.mu.Unlock()
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	secret, mode, slow := r.secret, r.mode, r.slowFor
	fail := false
	if mode == "500" && r.fails != 0 {
		fail = true
		if r.fails > 0 {
			r.fails--
		}
	}
	r.mu.Unlock()
	if mode == "slow" {
		select {
		case <-time.After(slow):
		case <-req.Context().Done():
			return
		}
	}
	var p struct {
		Type string `json:"type"`
		Data struct {
			Seq int64 `json:"seq"`
		} `json:"data"`
	}
	problem := ""
	if err := json.Unmarshal(body, &p); err != nil {
		problem = "body is not JSON: " + err.Error()
	} else if err := verifySpec(secret, req.Header, body); err != nil {
		problem = "spec verifier: " + err.Error()
	} else if wh, err := standardwebhooks.NewWebhook(secret); err != nil {
		problem = err.Error()
	} else if err := wh.Verify(body, req.Header); err != nil {
		problem = "Standard Webhooks library: " + err.Error()
	}
	r.mu.Lock()
	if problem != "" {
		r.bad = append(r.bad, problem)
	}
	r.hits = append(r.hits, hit{id: req.Header.Get("webhook-id"), typ: p.Type, seq: p.Data.Seq, at: time.Now(), body: body})
	r.mu.Unlock()
	switch {
	case mode == "410":
		w.WriteHeader(http.StatusGone)
	case mode == "redirect":
		http.Redirect(w, req, "/hook", http.StatusFound)
	case fail:
		w.WriteHeader(http.StatusInternalServerError)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (r *receiver) got() []hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.hits)
}

// delivered returns the distinct webhook-ids received, in first-arrival
// order.
func (r *receiver) delivered() []string {
	var out []string
	for _, h := range r.got() {
		if !slices.Contains(out, h.id) {
			out = append(out, h.id)
		}
	}
	return out
}

func (r *receiver) checkSignatures() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.bad {
		r.t.Errorf("receiver: %s", b)
	}
}

// seqData is a DataSource that sends the event's feed position.
type seqData struct{}

func (seqData) EventData(_ context.Context, _ string, ev feed.Event, _ bool) (any, error) {
	if strings.HasPrefix(ev.ObjectID, "gone") {
		return nil, ErrObjectGone
	}
	return map[string]any{"seq": ev.Seq, "object": ev.ObjectID}, nil
}

// notes records the endpoints a Notifier was told about.
type notes struct {
	mu  sync.Mutex
	eps []Endpoint
}

func (n *notes) EndpointDisabled(_ context.Context, ep Endpoint) error {
	n.mu.Lock()
	n.eps = append(n.eps, ep)
	n.mu.Unlock()
	return nil
}

func (n *notes) list() []Endpoint {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.eps)
}

// hookEnv is a Webhooks with a feed and a working job queue on a fresh
// database, with short backoffs.
type hookEnv struct {
	*env
	w     *Webhooks
	f     *feed.Feed
	q     *jobs.Queue
	notes *notes
}

func newHookEnv(t *testing.T, change func(*WebhookOptions)) *hookEnv {
	t.Helper()
	e := newEnv(t)
	n := &notes{}
	o := WebhookOptions{AllowPrivate: true, AllowHTTP: true, Timeout: 2 * time.Second,
		Backoff: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond},
		Data:    seqData{}, Notify: n, Log: slog.New(slog.NewTextHandler(t.Output(), nil))}
	if change != nil {
		change(&o)
	}
	w := NewWebhooks(e.d, e.v, e.a, o)
	f := feed.New(e.d)
	f.OnEmit(w.Hook)
	ws := river.NewWorkers()
	AddWebhookWorkers(ws, w)
	q, err := jobs.New(e.d, o.Log, ws, jobs.Options{Work: true, PollInterval: 20 * time.Millisecond, Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	w.Queue = q
	if err := q.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		q.Stop(ctx)
	})
	return &hookEnv{env: e, w: w, f: f, q: q, notes: n}
}

// endpoint creates an endpoint to r for the events given (all by default)
// and tells r its secret.
func (h *hookEnv) endpoint(t *testing.T, r *receiver, events ...string) Endpoint {
	t.Helper()
	if len(events) == 0 {
		events = feed.Types
	}
	ep, secret, err := h.w.Create(t.Context(), h.admin, h.tenant, EndpointInput{URL: r.url(), Events: events, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.secret = secret
	r.mu.Unlock()
	return ep
}

// emit appends events in one transaction, as a change would.
func (h *hookEnv) emit(t *testing.T, evs ...feed.Event) []feed.Event {
	t.Helper()
	err := h.d.Tx(t.Context(), func(tx *sql.Tx) error { return h.f.Emit(t.Context(), tx, h.tenant, evs...) })
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// responses emits n response.created events, one transaction each, and
// returns their ids in feed order.
func (h *hookEnv) responses(t *testing.T, n int, contactID string) []string {
	t.Helper()
	var ids []string
	for i := range n {
		ev := h.emit(t, feed.Event{Type: feed.ResponseCreated, ObjectID: fmt.Sprintf("resp-%d", i), ContactID: contactID})
		ids = append(ids, ev[0].ID)
	}
	return ids
}

// waitFor polls cond until it holds (no time limit: go test's -timeout
// names the wait that hangs).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-t.Context().Done():
			t.Fatalf("stopped waiting for %s", what)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
