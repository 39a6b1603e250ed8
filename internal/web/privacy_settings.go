package web

// privacyRoutes registers the tenant's privacy profile, branding and information notice.
func (s *Server) privacyRoutes(mux *recordingMux) {}
