// Package helpdesk owns customers and their tickets: the validation, defaults and rules that keep every one of them inside a single team and mode.
package helpdesk
