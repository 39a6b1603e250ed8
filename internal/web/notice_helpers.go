package web

import (
	"context"
	"fmt"
	"net/url"

	"avis/internal/privacy"
)

// noticeFor returns the current information notice of a tenant in a
// language (GDPR Art. 13, 14, 26), for the pages that must show it: the
// survey page and the person's own page. Record its ID with what the person
// does (an answer, a consent): privacy.Notices.ByID gives the exact text
// back. Render it with its Blocks, or link to noticeURL.
func (s *Server) noticeFor(ctx context.Context, tenantID, lang string) (privacy.Notice, error) {
	n, err := s.Notices.Current(ctx, tenantID, privacy.KindInformation, lang)
	if err != nil {
		return privacy.Notice{}, fmt.Errorf("information notice: %w", err)
	}
	return n, nil
}

// noticeURL is the public page of a notice version: /legal/{tenant}/notice
// or /legal/{tenant}/publication, with ?v= naming the version.
func noticeURL(n privacy.Notice) string {
	page := "notice"
	if n.Kind == privacy.KindPublication {
		page = "publication"
	}
	return "/legal/" + url.PathEscape(n.TenantID) + "/" + page + "?v=" + url.QueryEscape(n.ID) + "&lang=" + url.QueryEscape(n.Lang)
}
