# avis — the two set-up commands are `make run` and `make test`.
GO ?= go
export PATH := $(PATH):/usr/local/go/bin
export CGO_ENABLED := 0

.PHONY: build run test bench bench-import bench-send bench-answer bench-sync lint fuzz clean

build:
	$(GO) build -trimpath -o bin/avis ./cmd/avis

## run: build avis and start it on the embedded SQLite with demo data
run: build
	./bin/avis serve --demo

## test: every test, on SQLite and on a throwaway PostgreSQL (installed if missing)
test:
	CGO_ENABLED=1 scripts/test.sh

## bench: the benchmarks named by the issues; figures go to docs/benchmarks.md
bench: build
	scripts/bench.sh
	scripts/bench-import.sh
	scripts/bench-send.sh
	scripts/bench-answer.sh
	scripts/bench-sync.sh

## bench-import: import 1M contacts through the CLI on both databases
bench-import:
	scripts/bench-import.sh

## bench-send: 100,000 invitations rendered, signed and sent to a loopback SMTP server, on both databases
bench-send:
	scripts/bench-send.sh

## bench-answer: 64 clients answer 50,000 invitations (N=) through the survey page, on both databases
bench-answer:
	scripts/bench-answer.sh

## bench-sync: pull 1,000,000 responses by cursor through the API and export them to SFTP (N=), on both databases
bench-sync:
	scripts/bench-sync.sh

## lint: go vet and staticcheck
lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

clean:
	rm -rf bin
