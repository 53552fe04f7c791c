// Package apptest is the one harness of tests that need a running cStar: a server on 127.0.0.1:0 over a fresh database with cheap argon2id and a clock the test moves, a team and its keys, and HTTP and websocket clients that decode the envelope and the frames.
package apptest
