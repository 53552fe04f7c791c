package sdk

// The wire's objects reach the core as maps, which the bridge decodes from
// JSON; these helpers read and build them.

//go:noinline
func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

//go:noinline
func obj(m map[string]any, k string) map[string]any {
	o, _ := m[k].(map[string]any)
	return o
}

//go:noinline
func num(m map[string]any, k string) int64 {
	f, _ := m[k].(float64)
	return int64(f)
}

// kv builds an object from keys and values: one call instead of one map
// assignment per field keeps the module small.
//
//go:noinline
func kv(pairs ...any) map[string]any {
	m := make(map[string]any, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i].(string)] = pairs[i+1]
	}
	return m
}

// camel is the JS shape of a wire object: its keys in camelCase
// (ticket_id becomes ticketId), nested objects too.
func camel(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if o, ok := v.(map[string]any); ok {
			v = camel(o)
		}
		b := []byte(k)
		n := 0
		for i := 0; i < len(b); i++ {
			if b[i] == '_' && i+1 < len(b) {
				i++
				b[i] -= 'a' - 'A'
			}
			b[n] = b[i]
			n++
		}
		out[string(b[:n])] = v
	}
	return out
}

// event is the JS shape of a frame as an event payload.
//
//go:noinline
func event(f map[string]any) map[string]any {
	e := camel(f)
	delete(e, "type")
	delete(e, "ttlMs")
	return e
}
