package web

// meRoutes registers the person's own page /me/{token} and the magic link that reaches it.
func (s *Server) meRoutes(mux *recordingMux) {}
