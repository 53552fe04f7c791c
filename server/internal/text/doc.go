// Package text holds the rules every piece of text from a client obeys: no control characters where they break storage or display, and names and emails that cannot pose as someone else's.
package text
