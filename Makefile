# cStar — the two commands a newcomer needs are `make run` and `make test`.
GO        ?= go
BIN       := bin/cstar
PGTEST    := $(GO) run ./server/cmd/pgtest --
FUZZTIME  ?= 5s
WASM_OUT  := bin/cstar.wasm

# RACE_PKGS are the packages with concurrency: make test runs their tests
# with the race detector (instead of a second, plain run), the rest without.
# httpapi runs plain, and its tests that start goroutines of their own (the
# sockets end to end, webhook delivery, the visitor merge retried in the
# background) run again under the race detector: the whole package raced
# took 3.5 minutes of a 10-minute budget.
RACE_PKGS := ./server/internal/realtime ./server/internal/socket ./server/internal/ratelimit \
	./server/internal/store ./server/internal/chat ./server/app ./server/internal/dashboard ./server/internal/webhook
RACE_HTTPAPI := '^(TestChat|TestWebhook|TestVisitorMerge)'

.PHONY: run build widget test test-go test-tools lint wasm-test fuzz bench bench-chat bench-webhooks check wasm clean screenshots

## run: build and start the server on http://localhost:8080 with the embedded SQLite database, a demo team and the demo store on :8081 (limits raised: one developer's browser is every visitor)
run: build
	./$(BIN) serve --addr localhost:8080 --demo --rate-publishable 5000 --rate-secret 20000 --webhooks-allow-insecure --webhooks-allow-private

## build: build the server binary at bin/cstar and the widget at bin/widget
build: widget
	$(GO) build -trimpath -o $(BIN) ./server/cmd/cstar

## widget: the loader, the Go wasm glue of this toolchain and the SDK module, as the server serves them
widget:
	mkdir -p bin/widget
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags='-s -w' -o bin/widget/cstar.wasm ./wasm
	cp "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" bin/widget/wasm_exec.js
	cp js/cstar-chat.js js/cstar-widget.js js/cstar-chat.d.ts bin/widget/
	$(GO) run ./server/cmd/precompress bin/widget/cstar.wasm bin/widget/wasm_exec.js bin/widget/cstar-widget.js

## test: gofmt and go vet, then every test on SQLite and PostgreSQL (a throwaway cluster is started when CSTAR_TEST_DATABASE_URL is unset), the concurrent packages under the race detector, brief fuzzing, and a brief fault-injection run (chaos-brief)
test: lint
	CSTAR_REQUIRE_POSTGRES=1 CSTAR_REQUIRE_BROWSER=1 $(PGTEST) $(MAKE) --no-print-directory test-go fuzz
	$(MAKE) --no-print-directory chaos-brief

test-go: wasm-test test-tools
	$(GO) test -count=1 $$($(GO) list ./... | grep -v -x -F $(foreach p,$(RACE_PKGS),-e github.com/cstar-chat/cstar/$(patsubst ./%,%,$(p))))
	$(GO) test -race -count=1 $(RACE_PKGS)
	$(GO) test -race -count=1 -run $(RACE_HTTPAPI) ./server/internal/httpapi

## lint: fails on gofmt -l output and on go vet findings (the server's and the wasm build's)
lint:
	@out="$$(gofmt -l .)"; test -z "$$out" || { echo "gofmt: these files need formatting (gofmt -w):"; echo "$$out"; exit 1; }
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./wasm/...

## test-tools: what the tests run beside Go: e2e's npm packages (npm ci: jose, axe-core) and Debian's python3-jwt (installed with apt-get when missing and root)
test-tools:
	@command -v npm >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -q && apt-get install -y -q npm; } || \
		{ echo "the tests need npm: install it with 'sudo apt-get install npm'"; exit 1; }
	cd e2e && npm ci --no-audit --no-fund --loglevel=error
	@/usr/bin/python3 -c 'import jwt' 2>/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -q && apt-get install -y -q python3-jwt; } || \
		{ echo "the tests need PyJWT for /usr/bin/python3: install it with 'sudo apt-get install python3-jwt'"; exit 1; }

## wasm-test: the syscall/js bridge's tests, run under Node (installed with apt-get when missing and root)
wasm-test:
	@command -v node >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -q && apt-get install -y -q nodejs; } || \
		{ echo "wasm-test needs Node.js: install it with 'sudo apt-get install nodejs'"; exit 1; }
	GOOS=js GOARCH=wasm $(GO) test -count=1 -exec="$$($(GO) env GOROOT)/lib/wasm/go_js_wasm_exec" ./wasm/jsbridge

## fuzz: run each fuzz target briefly
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./server/internal/apikey
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeJSON$$' -fuzztime $(FUZZTIME) ./server/internal/httpapi
	$(GO) test -run '^$$' -fuzz '^FuzzJSON$$' -fuzztime $(FUZZTIME) ./server/internal/text
	$(GO) test -run '^$$' -fuzz '^FuzzFrame$$' -fuzztime $(FUZZTIME) ./server/internal/socket

## bench: benchmarks on SQLite and PostgreSQL, with ratios printed by the benchmark itself, then the chat load tool on both
bench:
	CSTAR_REQUIRE_POSTGRES=1 $(PGTEST) $(GO) test -run '^$$' -bench . -benchtime 2s ./...
	$(MAKE) --no-print-directory bench-chat

## bench-chat: 10,000 idle widget sockets (memory each) and 500 agent messages/s (delivery p50/p99), on SQLite and PostgreSQL
bench-chat:
	$(GO) build -o bin/chatbench ./server/cmd/chatbench
	./bin/chatbench -db sqlite
	$(PGTEST) sh -c './bin/chatbench -db "$$CSTAR_TEST_DATABASE_URL"'

## chaos: the fault-injection suite (server/cmd/chaos): two cstar serve processes on a throwaway PostgreSQL, visitors (the SDK core) and agents chatting through a server kill, PostgreSQL restarts and stalls and dropped connections, twice; fails when a message is lost, shown twice or out of order
.PHONY: chaos chaos-brief
chaos:
	$(GO) run ./server/cmd/chaos -duration 75s -rounds 2 -clients 8

# chaos-brief: one round of the four faults in about 25 s, the step of make test
chaos-brief:
	$(GO) run ./server/cmd/chaos -duration 20s -clients 4 -pg-down 1500ms -stall 2s -settle 10s

## bench-webhooks: 500 message events/s to 10 local webhook endpoints (p50/p99 commit → endpoint), then with one endpoint down, on SQLite and PostgreSQL
bench-webhooks:
	$(GO) build -o bin/webhookbench ./server/cmd/webhookbench
	./bin/webhookbench -db sqlite
	$(PGTEST) sh -c './bin/webhookbench -db "$$CSTAR_TEST_DATABASE_URL"'

## screenshots: the README's pictures (demo/screenshots/*.png), taken by TestDemoJourney and TestDashboardJourney in headless Chromium
screenshots:
	mkdir -p demo/screenshots
	CSTAR_SCREENSHOTS=$(CURDIR)/demo/screenshots CSTAR_REQUIRE_BROWSER=1 $(GO) test -count=1 -run '^(TestDemoJourney|TestDashboardJourney)$$/^sqlite$$' ./e2e

## check: lint, every test with -race, and the wasm build
check: lint
	CSTAR_REQUIRE_POSTGRES=1 $(PGTEST) $(GO) test -race -count=1 ./...
	$(MAKE) --no-print-directory wasm

## wasm: build the WebAssembly SDK
wasm:
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags='-s -w' -o $(WASM_OUT) ./wasm

clean:
	rm -rf bin
