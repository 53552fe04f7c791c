// Package realtime routes chat events to the live connections of this process (the hub) and between server processes (the bus).
package realtime
