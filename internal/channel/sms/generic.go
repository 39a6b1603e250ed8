package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
)

// GenericConfig describes an HTTP SMS API with templates. The URL, the
// header values and the body are Go text/template templates that may use
// only the fields .To, .From, .Text and .Reference, the functions json (a
// JSON string literal, quotes included) and urlquery (query escaping), and
// {{if}}…{{else}}…{{end}}. For example:
//
//	{
//	  "type": "generic", "name": "acme",
//	  "url": "https://api.acme.example/v1/sms",
//	  "headers": {"Authorization": "Bearer SECRET", "Content-Type": "application/json"},
//	  "body": "{\"to\":{{json .To}},\"from\":{{json .From}},\"text\":{{json .Text}},\"ref\":{{json .Reference}}}",
//	  "id_path": "data.id",
//	  "callback_secret": "a long random string shared with the sender of callbacks"
//	}
type GenericConfig struct {
	Common
	// Method is GET, POST (the default) or PUT.
	Method string `json:"method"`
	// URL is the request URL template; the result must be an absolute
	// http(s) URL.
	URL string `json:"url"`
	// Headers are header names and value templates.
	Headers map[string]string `json:"headers"`
	// Body is the body template; empty for GET.
	Body string `json:"body"`
	// SuccessStatuses are the statuses meaning "accepted"; the default is
	// 200, 201 and 202.
	SuccessStatuses []int `json:"success_statuses"`
	// UnsupportedStatuses are 4xx statuses this API uses for an invalid
	// number or an unserved destination (e.g. 422).
	UnsupportedStatuses []int `json:"unsupported_statuses"`
	// IDPath is a dotted path to the message id in the JSON response:
	// "id", "data.id", "messages.0.id" (a number indexes an array).
	IDPath string `json:"id_path"`
	// CallbackSecret, when set, is the key with which whoever posts
	// delivery receipts and replies to avis in its own JSON format signs
	// each body (SignGeneric, VerifyGenericSignature). Without it, avis
	// accepts no callback for this provider. It is 16 to 256 printable
	// ASCII characters without spaces.
	CallbackSecret string `json:"callback_secret"`
}

// Callback secret lengths.
const (
	minCallbackSecret = 16
	maxCallbackSecret = 256
)

// validCallbackSecret checks a callback secret's form, never quoting it.
func validCallbackSecret(name, s string) error {
	if len(s) < minCallbackSecret || len(s) > maxCallbackSecret {
		return errorf("%s: callback_secret has %d to %d characters", name, minCallbackSecret, maxCallbackSecret)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return errorf("%s: callback_secret has only printable ASCII characters, without spaces", name)
		}
	}
	return nil
}

// genericData is all a template can see.
type genericData struct{ To, From, Text, Reference string }

var genericFuncs = template.FuncMap{
	"json":     jsonString,
	"urlquery": url.QueryEscape,
}

func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// Generic sends SMS through an HTTP API described by a GenericConfig.
type Generic struct {
	cfg     GenericConfig
	d       Deps
	url     *template.Template
	body    *template.Template
	headers map[string]*template.Template
}

// NewGeneric parses and checks the templates and returns the provider.
func NewGeneric(cfg GenericConfig, d Deps) (*Generic, error) {
	cfg.Countries = append([]string(nil), cfg.Countries...)
	if err := cfg.Common.validate("generic"); err != nil {
		return nil, err
	}
	g := &Generic{cfg: cfg, d: d.withDefaults(), headers: map[string]*template.Template{}}
	name := cfg.Name
	switch g.cfg.Method = strings.ToUpper(cfg.Method); g.cfg.Method {
	case "":
		g.cfg.Method = http.MethodPost
	case http.MethodGet, http.MethodPost, http.MethodPut:
	default:
		return nil, errorf("%s: method is GET, POST or PUT", name)
	}
	if g.cfg.Method == http.MethodGet && cfg.Body != "" {
		return nil, errorf("%s: a GET request has no body", name)
	}
	var err error
	if cfg.URL == "" {
		return nil, errorf("%s: url is required", name)
	}
	if g.url, err = parseGenericTemplate(name, "url", cfg.URL); err != nil {
		return nil, err
	}
	if g.body, err = parseGenericTemplate(name, "body", cfg.Body); err != nil {
		return nil, err
	}
	for k, v := range cfg.Headers {
		if !validHeaderName(k) {
			return nil, errorf("%s: %q is not a valid header name", name, k)
		}
		if g.headers[k], err = parseGenericTemplate(name, "header "+k, v); err != nil {
			return nil, err
		}
	}
	if len(cfg.SuccessStatuses) == 0 {
		g.cfg.SuccessStatuses = []int{200, 201, 202}
	}
	for _, s := range g.cfg.SuccessStatuses {
		if s < 200 || s > 299 {
			return nil, errorf("%s: success_statuses are 2xx statuses, not %d", name, s)
		}
	}
	for _, s := range cfg.UnsupportedStatuses {
		if s < 400 || s > 499 || s == 401 || s == 403 || s == 429 {
			return nil, errorf("%s: unsupported_statuses are 4xx statuses other than 401, 403 and 429, not %d", name, s)
		}
	}
	if cfg.IDPath != "" && slices.Contains(strings.Split(cfg.IDPath, "."), "") {
		return nil, errorf("%s: id_path is a dotted path such as data.id", name)
	}
	if cfg.CallbackSecret != "" {
		if err := validCallbackSecret(name, cfg.CallbackSecret); err != nil {
			return nil, err
		}
	}
	if err := g.selfCheck(); err != nil {
		return nil, err
	}
	return g, nil
}

// Name returns the configured name ("generic" by default).
func (g *Generic) Name() string { return g.cfg.Name }

// parseGenericTemplate parses src and checks that it uses nothing but the
// allowed fields, functions and actions.
func parseGenericTemplate(name, what, src string) (*template.Template, error) {
	t, err := template.New(what).Funcs(genericFuncs).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, errorf("%s: %s template: %w", name, what, err)
	}
	if len(t.Templates()) > 1 {
		return nil, errorf("%s: %s template: {{define}} and {{block}} are not allowed", name, what)
	}
	if t.Tree != nil {
		if err := checkGenericNode(t.Tree.Root); err != nil {
			return nil, errorf("%s: %s template: %w", name, what, err)
		}
	}
	return t, nil
}

func checkGenericNode(n parse.Node) error {
	switch n := n.(type) {
	case nil:
		return nil
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := checkGenericNode(c); err != nil {
				return err
			}
		}
		return nil
	case *parse.TextNode, *parse.StringNode:
		return nil
	case *parse.ActionNode:
		return checkGenericNode(n.Pipe)
	case *parse.IfNode:
		if err := checkGenericNode(n.Pipe); err != nil {
			return err
		}
		if err := checkGenericNode(n.List); err != nil {
			return err
		}
		return checkGenericNode(n.ElseList)
	case *parse.PipeNode:
		if n == nil {
			return nil
		}
		if len(n.Decl) > 0 {
			return errors.New("variables are not allowed")
		}
		for _, c := range n.Cmds {
			for _, a := range c.Args {
				if err := checkGenericNode(a); err != nil {
					return err
				}
			}
		}
		return nil
	case *parse.FieldNode:
		if len(n.Ident) == 1 {
			switch n.Ident[0] {
			case "To", "From", "Text", "Reference":
				return nil
			}
		}
		return fmt.Errorf("{{%s}}: only .To, .From, .Text and .Reference are available", n.String())
	case *parse.IdentifierNode:
		if n.Ident == "json" || n.Ident == "urlquery" {
			return nil
		}
		return fmt.Errorf("function %q: only json and urlquery are available", n.Ident)
	default:
		return fmt.Errorf("%q is not allowed: use fields, json, urlquery and if", n.String())
	}
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range k {
		if c > 126 || c <= 32 || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, c) {
			return false
		}
	}
	return true
}

// selfCheck renders the templates with awkward sample data: the URL must be
// an absolute http(s) URL, a JSON body must stay valid JSON, and a form
// body or the query must not let a value add a parameter (a field left
// unescaped).
func (g *Generic) selfCheck() error {
	const probe = `q"\&avisprobe=1#x` + "\n"
	sample := genericData{To: "+33639981234", From: "Avis", Text: "Probe é €" + probe, Reference: "ref" + probe}
	rawURL, body, headers, err := g.render(sample)
	if err != nil {
		return errorf("%s: %w", g.Name(), err)
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return errorf("%s: url must give an absolute http(s) URL", g.Name())
	}
	if u.Query().Has("avisprobe") || strings.Contains(u.Fragment, "x") {
		return errorf("%s: url: pass each field through urlquery ({{urlquery .Text}})", g.Name())
	}
	ct := strings.ToLower(headers.Get("Content-Type"))
	switch {
	case body == "":
	case strings.Contains(ct, "json"):
		if !json.Valid([]byte(body)) {
			return errorf("%s: body is not valid JSON for every text: write each field as {{json .Text}}, without quotes around it", g.Name())
		}
	case strings.Contains(ct, "x-www-form-urlencoded"):
		if q, err := url.ParseQuery(body); err != nil || q.Has("avisprobe") {
			return errorf("%s: body: pass each field through urlquery ({{urlquery .Text}})", g.Name())
		}
	}
	return nil
}

// render executes the templates for d.
func (g *Generic) render(d genericData) (string, string, http.Header, error) {
	exec := func(what string, t *template.Template) (string, error) {
		var b strings.Builder
		if err := t.Execute(&b, d); err != nil {
			return "", fmt.Errorf("%s template: %w", what, err)
		}
		return b.String(), nil
	}
	rawURL, err := exec("url", g.url)
	if err != nil {
		return "", "", nil, err
	}
	body, err := exec("body", g.body)
	if err != nil {
		return "", "", nil, err
	}
	h := http.Header{}
	for k, t := range g.headers {
		v, err := exec("header "+k, t)
		if err != nil {
			return "", "", nil, err
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return "", "", nil, fmt.Errorf("header %s: a value contains a line break", k)
		}
		h.Set(k, v)
	}
	return rawURL, body, h, nil
}

// Send renders the request, sends it and reads the id at IDPath. A
// success status with no id at IDPath is still a success (a retry would
// send the message twice): ProviderID is then empty.
func (g *Generic) Send(ctx context.Context, m Message) (Result, error) {
	from, err := g.cfg.prepare(m, true)
	if err != nil {
		return Result{}, err
	}
	// Errors below must not quote the rendered URL or body: they hold the
	// number and the text.
	rawURL, body, headers, err := g.render(genericData{To: m.To, From: from, Text: m.Text, Reference: m.Reference})
	if err != nil {
		return Result{}, &SendError{Provider: g.Name(), Permanent: true, Msg: "rendering the request failed"}
	}
	var rd *strings.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	var req *http.Request
	if rd != nil {
		req, err = http.NewRequestWithContext(ctx, g.cfg.Method, rawURL, rd)
	} else {
		req, err = http.NewRequestWithContext(ctx, g.cfg.Method, rawURL, nil)
	}
	if err != nil {
		return Result{}, &SendError{Provider: g.Name(), Permanent: true, Msg: "the rendered URL is not valid"}
	}
	for k, v := range headers {
		req.Header[k] = v
	}
	if k := "Host"; headers.Get(k) != "" {
		req.Host = headers.Get(k)
	}
	res, err := do(g.d.HTTP, g.Name(), req)
	if err != nil {
		return Result{}, err
	}
	if !slices.Contains(g.cfg.SuccessStatuses, res.status) {
		e := classify(g.Name(), res, g.d.Now(), "", "")
		if e.Permanent && slices.Contains(g.cfg.UnsupportedStatuses, res.status) {
			e.Permanent, e.Unsupported = false, true
		}
		return Result{}, e
	}
	r := Result{Segments: Analyse(m.Text).Segments}
	if g.cfg.IDPath != "" {
		r.ProviderID = JSONPath(res.body, g.cfg.IDPath)
	}
	return r, nil
}

// JSONPath reads the string or number at a dotted path ("data.id",
// "messages.0.id") in a JSON document, or "" when there is none.
func JSONPath(doc []byte, path string) string {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return ""
	}
	for _, key := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[key]
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(x) {
				return ""
			}
			v = x[i]
		default:
			return ""
		}
	}
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	}
	return ""
}
