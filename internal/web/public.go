package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

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

// personPage reports whether path is one of the pages of the people avis
// writes to (their data, unsubscribing): those answer every problem with
// a public page, never with the admin UI's.
func personPage(path string) bool {
	return strings.HasPrefix(path, "/me/") || strings.HasPrefix(path, "/u/")
}

// isTooLarge reports whether err comes from a body over its limit.
func isTooLarge(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}

// tooLargePublic answers a person's post whose body is over the limit.
func (s *Server) tooLargePublic(w http.ResponseWriter, r *http.Request) {
	s.publicPage(w, r, http.StatusRequestEntityTooLarge, "public_me_state", publicOpts{Title: "What you sent is too large"},
		map[string]any{"TooLarge": true})
}
