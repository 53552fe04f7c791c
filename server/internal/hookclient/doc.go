// Package hookclient is the outgoing HTTP edge of webhooks: it posts signed deliveries, dialing only addresses that webhook.Blocked allows (checked on the resolved address at dial time, so DNS rebinding cannot reach the server's own network), with no proxy, no redirects and at most 1 KB of each response read.
package hookclient
