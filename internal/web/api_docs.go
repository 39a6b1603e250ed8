package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// The API reference page (/api/docs) is made on the server from the
// OpenAPI document, once: readable without JavaScript, nothing loaded
// from elsewhere.

type docsView struct {
	Title, Version, Description string
	Tags                        []docsTag
	Problems                    []docsProblem
	Schemas                     []docsSchema
}

type docsTag struct {
	Name, Description, Anchor string
	Ops                       []docsOp
}

type docsOp struct {
	Method, Path, Summary, Description, Scope, Anchor string
	Params                                            []docsParam
	Bodies                                            []docsBody
	Responses                                         []docsResp
}

type docsParam struct {
	Name, In, Type, Description string
	Required                    bool
}

type docsBody struct {
	ContentType, Description string
	Schema                   docsType
	Example                  string
}

type docsResp struct {
	Status, Description string
	Schema              docsType
	Headers             []string
}

type docsSchema struct {
	Name, Anchor, Description string
	Type                      docsType
	Props                     []docsProp
	Example                   string
}

type docsProp struct {
	Name, Description string
	Type              docsType
	Required          bool
}

// docsType is a schema's type in words, with a link to a named schema
// when it refers to one.
type docsType struct {
	Text, Ref string
}

type docsProblem struct {
	URI, Code, Title, When string
}

var apiDocsOnce struct {
	sync.Once
	v   *docsView
	err error
}

func (s *Server) apiDocs(w http.ResponseWriter, r *http.Request) {
	apiDocsOnce.Do(func() { apiDocsOnce.v, apiDocsOnce.err = buildDocs(openAPIDoc) })
	if apiDocsOnce.err != nil {
		s.fail(w, r, apiDocsOnce.err)
		return
	}
	s.render(w, r, nil, http.StatusOK, "api_docs", &view{Title: s.cat.T(s.lang(r, ""), "API reference"), Data: apiDocsOnce.v})
}

// oaSchema is the part of a JSON Schema the page shows.
type oaSchema struct {
	Ref                  string               `json:"$ref"`
	Type                 any                  `json:"type"`
	Description          string               `json:"description"`
	Properties           map[string]*oaSchema `json:"properties"`
	Required             []string             `json:"required"`
	Items                *oaSchema            `json:"items"`
	AllOf                []*oaSchema          `json:"allOf"`
	OneOf                []*oaSchema          `json:"oneOf"`
	AdditionalProperties any                  `json:"additionalProperties"`
	Enum                 []any                `json:"enum"`
	Const                any                  `json:"const"`
	Format               string               `json:"format"`
	Example              any                  `json:"example"`
	Minimum              *float64             `json:"minimum"`
	Maximum              *float64             `json:"maximum"`
	MaxLength            *int                 `json:"maxLength"`
}

type oaParam struct {
	Ref         string    `json:"$ref"`
	Name        string    `json:"name"`
	In          string    `json:"in"`
	Required    bool      `json:"required"`
	Description string    `json:"description"`
	Schema      *oaSchema `json:"schema"`
}

type oaMedia struct {
	Schema      *oaSchema `json:"schema"`
	Example     any       `json:"example"`
	Description string    `json:"description"`
}

type oaResponse struct {
	Ref         string                     `json:"$ref"`
	Description string                     `json:"description"`
	Headers     map[string]json.RawMessage `json:"headers"`
	Content     map[string]oaMedia         `json:"content"`
}

type oaOp struct {
	Tags        []string  `json:"tags"`
	Summary     string    `json:"summary"`
	Description string    `json:"description"`
	OperationID string    `json:"operationId"`
	Parameters  []oaParam `json:"parameters"`
	Scope       string    `json:"x-scope"`
	RequestBody *struct {
		Description string             `json:"description"`
		Content     map[string]oaMedia `json:"content"`
	} `json:"requestBody"`
	Responses map[string]oaResponse `json:"responses"`
}

type oaDoc struct {
	Info struct {
		Title, Version, Description string
	} `json:"info"`
	Tags []struct {
		Name, Description string
	} `json:"tags"`
	Paths      map[string]map[string]*oaOp `json:"paths"`
	Components struct {
		Parameters map[string]oaParam    `json:"parameters"`
		Responses  map[string]oaResponse `json:"responses"`
		Schemas    map[string]*oaSchema  `json:"schemas"`
	} `json:"components"`
}

var docsMethods = []string{"get", "post", "put", "patch", "delete"}

// buildDocs turns the OpenAPI document into the page's view.
func buildDocs(raw []byte) (*docsView, error) {
	var d oaDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("api docs: %w", err)
	}
	v := &docsView{Title: d.Info.Title, Version: d.Info.Version, Description: d.Info.Description}
	byTag := map[string]*docsTag{}
	for _, t := range d.Tags {
		v.Tags = append(v.Tags, docsTag{Name: t.Name, Description: t.Description, Anchor: "tag-" + anchor(t.Name)})
	}
	for i := range v.Tags {
		byTag[v.Tags[i].Name] = &v.Tags[i]
	}
	paths := make([]string, 0, len(d.Paths))
	for p := range d.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		for _, m := range docsMethods {
			op := d.Paths[p][m]
			if op == nil {
				continue
			}
			o := docsOp{Method: strings.ToUpper(m), Path: "/api/v1" + p, Summary: op.Summary, Description: op.Description, Scope: op.Scope,
				Anchor: "op-" + anchor(op.OperationID)}
			for _, pr := range op.Parameters {
				if pr.Ref != "" {
					pr = d.Components.Parameters[refName(pr.Ref)]
				}
				o.Params = append(o.Params, docsParam{Name: pr.Name, In: pr.In, Type: typeOf(pr.Schema).Text, Description: pr.Description, Required: pr.Required})
			}
			if op.RequestBody != nil {
				for _, ct := range sortedKeys(op.RequestBody.Content) {
					md := op.RequestBody.Content[ct]
					desc := md.Description
					if desc == "" {
						desc = op.RequestBody.Description
					}
					o.Bodies = append(o.Bodies, docsBody{ContentType: ct, Description: desc, Schema: typeOf(md.Schema), Example: example(md.Example)})
				}
			}
			for _, st := range sortedKeys(op.Responses) {
				rs := op.Responses[st]
				if rs.Ref != "" {
					rs = d.Components.Responses[refName(rs.Ref)]
				}
				dr := docsResp{Status: st, Description: rs.Description}
				for _, ct := range sortedKeys(rs.Content) {
					dr.Schema = typeOf(rs.Content[ct].Schema)
					dr.Schema.Text = ct + ": " + dr.Schema.Text
				}
				dr.Headers = sortedKeys(rs.Headers)
				o.Responses = append(o.Responses, dr)
			}
			tag := "Other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			t := byTag[tag]
			if t == nil {
				v.Tags = append(v.Tags, docsTag{Name: tag, Anchor: "tag-" + anchor(tag)})
				for i := range v.Tags {
					byTag[v.Tags[i].Name] = &v.Tags[i]
				}
				t = byTag[tag]
			}
			t.Ops = append(t.Ops, o)
		}
	}
	for _, pt := range problemTypes {
		v.Problems = append(v.Problems, docsProblem{URI: problemURI(pt.Code), Code: pt.Code, Title: pt.Title, When: pt.When})
	}
	for _, name := range sortedKeys(d.Components.Schemas) {
		sc := d.Components.Schemas[name]
		ds := docsSchema{Name: name, Anchor: "schema-" + name, Description: sc.Description, Type: typeOf(sc), Example: example(sc.Example)}
		props, required := map[string]*oaSchema{}, map[string]bool{}
		for _, part := range append([]*oaSchema{sc}, sc.AllOf...) {
			if part.Ref != "" {
				if ref := d.Components.Schemas[refName(part.Ref)]; ref != nil {
					part = ref
				}
			}
			for k, p := range part.Properties {
				props[k] = p
			}
			for _, r := range part.Required {
				required[r] = true
			}
		}
		for _, k := range sortedKeys(props) {
			p := props[k]
			ds.Props = append(ds.Props, docsProp{Name: k, Description: p.Description, Type: typeOf(p), Required: required[k]})
		}
		v.Schemas = append(v.Schemas, ds)
	}
	return v, nil
}

func anchor(s string) string {
	return strings.ToLower(strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, s))
}

func refName(ref string) string { return ref[strings.LastIndex(ref, "/")+1:] }

// typeOf says a schema's type in words.
func typeOf(s *oaSchema) docsType {
	if s == nil {
		return docsType{Text: "any"}
	}
	if s.Ref != "" {
		n := refName(s.Ref)
		return docsType{Text: n, Ref: "schema-" + n}
	}
	if len(s.OneOf) > 0 {
		var parts []string
		var ref string
		for _, o := range s.OneOf {
			t := typeOf(o)
			parts = append(parts, t.Text)
			if ref == "" {
				ref = t.Ref
			}
		}
		return docsType{Text: "one of: " + strings.Join(parts, "; "), Ref: ref}
	}
	if len(s.AllOf) > 0 {
		t := typeOf(s.AllOf[0])
		t.Text += " and more"
		return t
	}
	var types []string
	switch x := s.Type.(type) {
	case string:
		types = []string{x}
	case []any:
		for _, t := range x {
			types = append(types, fmt.Sprint(t))
		}
	}
	text := strings.Join(types, " or ")
	if text == "" {
		text = "any"
	}
	if text == "array" {
		it := typeOf(s.Items)
		return docsType{Text: "array of " + it.Text, Ref: it.Ref}
	}
	if text == "object" {
		if ap, ok := s.AdditionalProperties.(map[string]any); ok {
			b, _ := json.Marshal(ap)
			var as oaSchema
			_ = json.Unmarshal(b, &as)
			it := typeOf(&as)
			return docsType{Text: "object of " + it.Text + " by name", Ref: it.Ref}
		}
	}
	if s.Format != "" {
		text += " (" + s.Format + ")"
	}
	if len(s.Enum) > 0 {
		var vs []string
		for _, e := range s.Enum {
			vs = append(vs, fmt.Sprint(e))
		}
		text += ": " + strings.Join(vs, ", ")
	}
	if s.Const != nil {
		text += " = " + fmt.Sprint(s.Const)
	}
	if s.Minimum != nil && s.Maximum != nil {
		text += fmt.Sprintf(", %g to %g", *s.Minimum, *s.Maximum)
	}
	if s.MaxLength != nil {
		text += fmt.Sprintf(", at most %d characters", *s.MaxLength)
	}
	return docsType{Text: text}
}

func example(v any) string {
	if v == nil {
		return ""
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return ""
	}
	return string(b)
}
