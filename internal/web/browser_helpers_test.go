package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The browser tests drive Debian's headless Chromium through the DevTools
// protocol. Environment:
//
//	AVIS_CHROMIUM              the browser (default /usr/bin/chromium)
//	AVIS_AXE_JS                axe-core's axe.min.js, for the accessibility test
//	AVIS_TEST_REQUIRE_BROWSER  1: a missing browser or axe-core fails the test
//	                           instead of skipping it (make test sets it)
//	AVIS_SCREENSHOTS           a directory: save a PNG of every page visited
//
// scripts/browser-deps.sh installs both and prints the variables.

// needBrowserPart skips the test, or fails it when the browser tests are
// required.
func needBrowserPart(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...) + ` (run: eval "$(scripts/browser-deps.sh)")`
	if os.Getenv("AVIS_TEST_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg + "; AVIS_TEST_REQUIRE_BROWSER=1 makes this a failure")
	}
	t.Skip(msg)
}

func chromiumPath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("AVIS_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if fi, err := os.Stat(p); err != nil || fi.IsDir() {
		needBrowserPart(t, "no Chromium at %s (set AVIS_CHROMIUM)", p)
	}
	return p
}

// axeSource reads axe-core's axe.min.js from AVIS_AXE_JS.
func axeSource(t *testing.T) string {
	t.Helper()
	p := os.Getenv("AVIS_AXE_JS")
	if p == "" {
		needBrowserPart(t, "AVIS_AXE_JS is not set: cannot check accessibility with axe-core")
	}
	b, err := os.ReadFile(p)
	if err != nil {
		needBrowserPart(t, "cannot read axe-core from AVIS_AXE_JS: %v", err)
	}
	return string(b)
}

// newChrome starts a headless Chromium with a fresh profile and returns the
// context of its first tab. The browser ends with the test.
func newChrome(t *testing.T) context.Context {
	t.Helper()
	exe := chromiumPath(t)
	profile := t.TempDir() // removed after the browser has stopped (cleanups run last-in first-out)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
		// Without these Chromium keeps calling Google's servers, which on a
		// closed network means a flood of refused connections.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("lang", "en-US"),
	)
	// A hard limit, so that a hung browser fails the test rather than the
	// whole package timeout.
	root, stop := context.WithTimeout(context.Background(), 2*time.Minute)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(root, opts...)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(string, ...any) {}))
	t.Cleanup(func() {
		cancel()
		cancelAlloc() // waits for the browser process to end
		stop()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium %s: %v", exe, err)
	}
	return ctx
}

// do runs browser actions and fails the test on an error.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second) // a missing element would be waited for forever
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page and decodes its value.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %q: %v", expr, err)
	}
	return v
}

// load runs steps that make the page load another document (a click, a key,
// a navigation) and waits for it. It returns the HTTP status of the document.
func load(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) int64 {
	t.Helper()
	// A step that loads nothing (a form the browser refuses to send, a
	// link that is not one) would wait forever.
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if resp == nil {
		t.Fatalf("%s: no document loaded", what)
	}
	return resp.Status
}

// setLangCookie sets the language cookie as the language menu would.
func setLangCookie(t *testing.T, ctx context.Context, base, lang string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{
		Name: "avis_lang", Value: lang, URL: base + "/", Path: "/",
	}); err != nil {
		t.Fatalf("set avis_lang cookie: %v", err)
	}
}

// activeElement describes the element that has the keyboard focus.
type activeElement struct {
	Tag  string `json:"tag"`
	ID   string `json:"id"`
	Href string `json:"href"`
	Text string `json:"text"`
	// Visible: the element has a box inside the viewport.
	Visible bool `json:"visible"`
}

const activeJS = `(() => {
	const el = document.activeElement;
	if (!el || el === document.body) return {tag: "", id: "", href: "", text: "", visible: false};
	const r = el.getBoundingClientRect();
	return {tag: el.tagName.toLowerCase(), id: el.id || "", href: el.getAttribute("href") || "",
		text: (el.innerText || el.value || "").trim(),
		visible: r.width > 0 && r.height > 0 && r.right > 0 && r.bottom > 0 && r.left < innerWidth};
})()`

func focused(t *testing.T, ctx context.Context) activeElement {
	t.Helper()
	return eval[activeElement](t, ctx, activeJS)
}

// tabUntil presses Tab until the focused element satisfies ok, as a keyboard
// user moves through a page, and fails when it is not reachable.
func tabUntil(t *testing.T, ctx context.Context, what string, ok func(activeElement) bool) activeElement {
	t.Helper()
	var seen []string
	for range 60 {
		do(t, ctx, "press Tab", chromedp.KeyEvent(kb.Tab))
		a := focused(t, ctx)
		if ok(a) {
			if !a.Visible {
				t.Fatalf("%s: focused element <%s> %q is not visible on screen", what, a.Tag, a.Text)
			}
			return a
		}
		seen = append(seen, fmt.Sprintf("<%s id=%q href=%q>%s", a.Tag, a.ID, a.Href, a.Text))
	}
	t.Fatalf("%s: not reachable with the Tab key; focus went through:\n  %s", what, strings.Join(seen, "\n  "))
	return activeElement{}
}

// screenshot saves a full-page PNG into AVIS_SCREENSHOTS, when it is set.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("AVIS_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// requestLog records the URL of every request a tab makes.
type requestLog struct {
	ch   chan string
	urls []string
}

func recordRequests(t *testing.T, ctx context.Context) *requestLog {
	t.Helper()
	l := &requestLog{ch: make(chan string, 10000)}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("network.Enable: %v", err)
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		if ev, ok := ev.(*network.EventRequestWillBeSent); ok {
			select {
			case l.ch <- ev.Request.URL:
			default: // more than 10000 requests: the assertions will say so
			}
		}
	}); err != nil {
		t.Fatalf("listen to the network: %v", err)
	}
	return l
}

// all returns every URL recorded so far.
func (l *requestLog) all() []string {
	for {
		select {
		case u := <-l.ch:
			l.urls = append(l.urls, u)
		default:
			return l.urls
		}
	}
}

// foreign lists the recorded requests that went anywhere but base.
func foreign(urls []string, base string) []string {
	b, _ := url.Parse(base)
	var out []string
	for _, s := range urls {
		u, err := url.Parse(s)
		switch {
		case err != nil:
			out = append(out, s)
		case u.Scheme == "data":
		case u.Scheme != b.Scheme || u.Host != b.Host:
			out = append(out, s)
		}
	}
	return out
}

// axeViolation is one failed axe-core rule on a page.
type axeViolation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target  []any  `json:"target"`
		HTML    string `json:"html"`
		Summary string `json:"summary"`
	} `json:"nodes"`
}

type axeResult struct {
	Violations []axeViolation `json:"violations"`
	Passes     int            `json:"passes"`
}

const axeRunJS = `axe.run(document, {resultTypes: ["violations"]}).then(r => ({
	passes: r.passes.length,
	violations: r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help, helpUrl: v.helpUrl,
		nodes: v.nodes.map(n => ({target: n.target, html: n.html, summary: n.failureSummary || ""}))}))
}))`

// runAxe injects axe-core into the page and runs every rule of it.
func runAxe(t *testing.T, ctx context.Context, src string) axeResult {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](src)); err != nil {
		t.Fatalf("inject axe-core: %v", err)
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](axeRunJS, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("axe.run: %v", err)
	}
	var r axeResult
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("axe.run result: %v\n%s", err, raw)
	}
	return r
}

func (v axeViolation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s] %s: %s (%s)", v.Impact, v.ID, v.Help, v.HelpURL)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n      %v %s", n.Target, n.HTML)
		if n.Summary != "" {
			fmt.Fprintf(&b, "\n        %s", strings.ReplaceAll(n.Summary, "\n", "\n        "))
		}
	}
	return b.String()
}
