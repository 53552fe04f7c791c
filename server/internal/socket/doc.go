// Package socket runs cStar's websocket sessions, the customer's widget channel, the agents' realtime stream and the agents' dashboards, on one connection machinery: a bounded queue, a writer that runs only while frames wait, heartbeats, close codes, per-connection budgets and one gap-fill routine.
package socket
