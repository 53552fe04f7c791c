// Package webhook sends a team's events to its site's endpoints: endpoints and their signing secrets, the fan-out of the stored events log into deliveries, and the dispatcher that claims, signs, sends and retries them with backoff, at least once across restarts and processes.
package webhook
