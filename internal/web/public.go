package web

import (
	"net/http"
	"net/url"

	"avis/internal/i18n"
)

// publicOpts says how to render a public page.
type publicOpts struct {
	// Title is an English message, translated into the page's language.
	Title string
	// Lang is the language the content is in (a survey's language, say);
	// empty picks ?lang=, then the browser's preference.
	Lang string
	// Brand is the tenant that asks; nil shows avis alone.
	Brand *publicBrand
}

// publicLang picks a public page's language without any cookie: an explicit
// ?lang= (from the page's language menu), then the content's own language,
// then the browser's Accept-Language.
func publicLang(r *http.Request, content string) string {
	if l := r.URL.Query().Get("lang"); i18n.Supported(l) {
		return l
	}
	if i18n.Supported(content) {
		return content
	}
	return i18n.Match(r.Header.Get("Accept-Language"))
}

// publicPage renders a page for the people avis writes to: no session, no
// cookie, no navigation, in the page's language with a menu of the others.
func (s *Server) publicPage(w http.ResponseWriter, r *http.Request, status int, name string, o publicOpts, data any) {
	v := &view{Data: data, Brand: o.Brand}
	v.Lang = publicLang(r, o.Lang)
	v.Title = s.cat.T(v.Lang, o.Title)
	if r.Method == http.MethodGet {
		for _, l := range i18n.Languages {
			q := r.URL.Query()
			q.Set("lang", l)
			u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
			v.LangLinks = append(v.LangLinks, langLink{Code: l, Name: i18n.Names[l], Href: u.String(), Current: l == v.Lang})
		}
	}
	s.render(w, r, nil, status, name, v)
}
