// Package pgcluster runs a throwaway PostgreSQL cluster of its own (initdb in a temporary directory, as an unprivileged user, on a free loopback port, durability off) that a test can stop and start to see what an outage does, and that pgtest runs the whole suite against.
package pgcluster
