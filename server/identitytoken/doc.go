// Package identitytoken lets a site's backend prove to cStar who its logged-in
// user is, by signing an HS256 identity token or computing a user hash with the
// team's identity-verification secret; it uses only the standard library so it
// can be copied or vendored into any Go backend.
package identitytoken
