# CLC Portal. `make run` to try it, `make test` to check it; `make help` lists the rest.
SHELL := /bin/bash
BIN   := bin/clc

.PHONY: help run test faults build image generate check-generated lint clean bench fuzz screenshots

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

run: build ## serve the portal with a throwaway PostgreSQL, a mail catcher and demo data
	@scripts/dev.sh

test: ## start what the tests need, then vet, check generated code and run every test
	@scripts/test.sh

faults: ## the fault tests alone and harder: CLC_FAULT_KILLS (default 200) kills -9, SMTP and PostgreSQL outages, SIGTERM
	@CLC_FAULT_KILLS=$${CLC_FAULT_KILLS:-200} CLC_CHROMIUM=$${CLC_CHROMIUM:-unused} scripts/test.sh -run '^TestFault' -v

screenshots: ## render the main pages over the demo data into docs/screenshots/
	@scripts/screenshots.sh

build: ## build bin/clc
	go build -o $(BIN) ./cmd/clc

IMAGE ?= localhost/clc:latest
image: ## build the container image $(IMAGE) from scratch with buildah (a static bin/image/clc; nothing pulled)
	mkdir -p bin/image
	CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o bin/image/clc ./cmd/clc
	cp /etc/ssl/certs/ca-certificates.crt bin/image/
	buildah build -f Containerfile -t $(IMAGE) bin/image

generate: ## regenerate templ components
	go tool templ generate -path web
	go tool templ generate -path bench

check-generated: ## fail when committed *_templ.go files are stale
	@scripts/check-generated.sh

lint: ## gofmt, go vet, golangci-lint (.golangci.yml, staticcheck among its linters) and the generated-code check
	@scripts/lint.sh

clean: ## stop throwaway servers and remove build and data folders
	-@scripts/pg.sh stop .tmp/pg-dev
	-@scripts/pg.sh stop .tmp/pgbouncer-test
	-@scripts/pg.sh stop .tmp/pg-test-replica
	-@scripts/pg.sh stop .tmp/pg-test
	-@scripts/pg.sh stop .tmp/pg-bench
	-@scripts/pg.sh stop .tmp/pg-shots
	rm -rf bin .tmp

FUZZTIME ?= 30s
fuzz: ## run every fuzz target for FUZZTIME (default 30s) each; findings land in testdata/fuzz
	@FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

ACCOUNTS ?= 1000000
BENCH_PGPORT ?= 54335
BENCH_SIZES ?= 10000,100000,1000000
bench: ## grow a synthetic directory through BENCH_SIZES to ACCOUNTS (default 1M) accounts on PostgreSQL at BENCH_PGPORT, measuring how cost grows; benchmark every main page beside its baselines (and wrk's figures); write bench/RESULTS.md and bench/scaling.png
	@scripts/bench-tools.sh
	go run ./bench/search -accounts $(ACCOUNTS) -sizes $(BENCH_SIZES) -pgport $(BENCH_PGPORT)
