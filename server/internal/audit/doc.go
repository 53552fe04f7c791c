// Package audit keeps a team's record of who changed what (keys, settings,
// agents), when and from which address.
package audit
