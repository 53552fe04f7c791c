// Package httpapi is cStar's HTTP layer: routes, authentication, rate
// limits, CORS and the JSON envelope. It holds no SQL and no business rules.
package httpapi
