// Package e2e drives the CStarChat SDK in headless Chromium against the cStar
// server started in-process, on SQLite and on PostgreSQL, with the test pages
// served from another origin than the API.
package e2e
