// Package library is a team's help center: categories, Markdown articles and full-text search over the published ones.
package library
