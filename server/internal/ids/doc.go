// Package ids makes and checks the UUIDv7 identifiers of every cStar row.
package ids
