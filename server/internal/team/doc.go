// Package team creates teams, the tenants of cStar, and resolves the
// {teamId} of a URL, which may be a team's UUID or its slug.
package team
