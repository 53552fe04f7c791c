// Package dashboard is the agents' side of cStar at /app/: signing in, the
// live inbox and conversations, and the team's settings, as server-rendered
// pages with a little plain JavaScript, using the features' services
// directly.
package dashboard
