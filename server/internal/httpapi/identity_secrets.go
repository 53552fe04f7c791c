package httpapi

// identitySecretRoutes registers the secret-key API for a team's identity
// verification secrets.
func (s *Server) identitySecretRoutes(t string) {}
