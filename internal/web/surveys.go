package web

// surveyRoutes registers the survey editor and /api/v1/surveys.
func (s *Server) surveyRoutes(mux *recordingMux) {}
