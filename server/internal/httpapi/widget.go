package httpapi

// widgetRoutes registers /api/widget/v1/… (customer accounts and sessions,
// authenticated by a publishable key).
func (s *Server) widgetRoutes() {}
