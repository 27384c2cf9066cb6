package httpapi

// routes registers every route. Keep them all here, in one place.
func (s *Server) routes() {
	s.mux.Handle("GET /-/health", s.adapt(s.handleHealth))
	s.mux.Handle("GET /-/liveness", s.adapt(s.handleHealth))
	s.mux.Handle("GET /-/readiness", s.adapt(s.handleReadiness))
	s.mux.Handle("GET /api/v4/version", s.adapt(s.handleVersion))
}
