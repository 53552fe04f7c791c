// Package chat owns live-chat conversations: messages numbered per ticket, a customer's open chat ticket, idempotent sends, read positions, typing, and the events that tell everyone else.
package chat
