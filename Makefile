# headless-e2e: the Kubernetes headless-Service lab, and its end-to-end suite, on kind.
# Every target prepares what it needs; `make help` lists them.

# versions.env names the images; one set in the environment still wins (HELLO_IMAGE=...
# make e2e), as it does for `go test`: an included assignment would otherwise override it.
IMAGE_KNOBS     := HELLO_IMAGE CLIENT_IMAGE RESOLVERS_IMAGE PROBE_IMAGE
image_overrides := $(foreach v,$(IMAGE_KNOBS),$(if $(filter environment,$(origin $(v))),$(v):=$($(v))))
include versions.env
$(foreach o,$(image_overrides),$(eval $(o)))

SHELL := /usr/bin/env bash
.SHELLFLAGS := -o errexit -o nounset -o pipefail -c
.DEFAULT_GOAL := help

BIN       := $(CURDIR)/bin
ARTIFACTS ?= $(CURDIR)/$(DEFAULT_ARTIFACTS)
# make test's e2e phase: everything but the faults (run after it, alone) and the pace=slow
# resolver replacement, which waits out the JVM's 30-second cache (make resolvers runs it). The
# DNS setup's features (area=profile) run on make test's cluster, its kubeadm row of the table.
ARGS      ?= --skip-labels area=faults,pace=slow
JUNIT     ?= junit-e2e.xml
OFFLINE   ?=
N         ?= 20
# The DNS setups make profiles runs: every value DNS_PROFILE takes (internal/dnsprofile).
DNS_PROFILES ?= $(shell go run ./cmd/cluster profiles)
K         ?= 10
export ARTIFACTS OFFLINE ARGS
export PATH := $(BIN):$(PATH)

##@ The two commands

.PHONY: lab
lab: $(BIN)/kind $(BIN)/kubectl docker ## Walk the course's headless-Service lab, narrated, on a 3-node kind cluster
	go run ./cmd/imagebuilder prepare lab
	scripts/lab.sh

.PHONY: test
test: prepare ## Unit tests, the e2e suite and a non-interactive lab run on one cluster, then the faults (JUnit and timings in ARTIFACTS)
	scripts/test.sh

##@ Pieces

# One path with one switch, OFFLINE: offline every image is built here from Debian packages and
# Go modules (as root); online kind's published node image and the images registries hold are
# pulled, and only static binaries are built, without root (cmd/imagebuilder/prepare.go).
.PHONY: prepare
prepare: tools docker ## Everything a cluster run needs: tools, docker, images (OFFLINE: built here; else pulled)
	go run ./cmd/imagebuilder prepare test

.PHONY: unit
unit: $(BIN)/gotestsum ## Unit tests (no cluster), and go vet of the e2e suite, whose runs skip it
	mkdir -p $(ARTIFACTS)
	go vet ./e2e
	gotestsum --junitfile $(ARTIFACTS)/junit-unit.xml --format testname -- -count=1 $$(go list ./... | grep -v -e /e2e$$ -e /examples/)

# The suite's test binary, compiled when a source it is built from changed: `go test ./e2e`
# checks the staleness of every package the suite imports (Kubernetes' client among them)
# before each run, 2 s of a 12 s course run; make's file dates are free. The binary runs in
# e2e/ as `go test` would run it, through test2json so gotestsum reports (and names JUnit
# cases) as before. `make unit` vets the suite, in the phase that waits for the cluster.
E2E_SOURCES := $(shell find e2e pkg internal manifests -name '*.go' -o -name '*.yaml') go.mod go.sum versions.env versions.go
$(BIN)/e2e.test: $(E2E_SOURCES)
	go test -c -o $@ ./e2e

.PHONY: e2e
e2e: tools $(BIN)/e2e.test ## The e2e suite (not the faults); ARGS go to e2e-framework, e.g. ARGS='--labels step=dns'
	mkdir -p $(ARTIFACTS)
	cd e2e && gotestsum --junitfile $(ARTIFACTS)/$(JUNIT) --format standard-verbose --raw-command -- \
	  go tool test2json -t -p github.com/headless-e2e/headless-e2e/e2e $(BIN)/e2e.test -test.v=test2json -test.count=1 -test.parallel=16 -test.timeout=20m $(ARGS)

.PHONY: example
example: tools ## The library's runnable example (examples/headless: a TestMain and a feature to copy) on the course's cluster, with the probe image
	mkdir -p $(ARTIFACTS)
	KUBECONFIG=$$(go run ./cmd/cluster kubeconfig) APP_IMAGE=$(HELLO_IMAGE) PROBE_IMAGE=$(PROBE_IMAGE) \
	  gotestsum --junitfile $(ARTIFACTS)/junit-example.xml --format standard-verbose -- -count=1 ./examples/headless

.PHONY: faults
faults: tools ## Fault features only: CoreDNS deleted, a node restarted, queries during replacement
	$(MAKE) --no-print-directory e2e ARGS='--labels area=faults' JUNIT=junit-faults.xml

.PHONY: resolvers
resolvers: prepare ## The resolver matrix: the course's names through glibc, musl 1.2.3/1.2.5, Go, the JVM and dig (resolvers.md, .json in ARTIFACTS)
	$(MAKE) --no-print-directory e2e ARGS='--labels area=resolvers' JUNIT=junit-resolvers.xml

.PHONY: bench
bench: prepare ## Benchmark, not a test: DNS convergence over K pod replacements (K=10), answer size and truncation at 30 and 100 replicas
	go run ./cmd/bench -k $(K)

.PHONY: lab-check
lab-check: prepare ## Run the lab non-interactively and check what it printed
	scripts/lab-check.sh

.PHONY: lab-down
lab-down: cluster-down ## Remove the lab's cluster (only one this project created)

.PHONY: docker
docker: ## Make sure a Docker engine answers (installs and starts one if needed)
	scripts/docker-up.sh

.PHONY: host-deps
host-deps: ## Debian packages the offline image build and the checks need (debootstrap, libseccomp-dev, iptables, ping)
	scripts/host-deps.sh

.PHONY: node-image
node-image: host-deps docker ## Build the kind node image from Debian packages and Go modules (cached by content)
	go run ./cmd/imagebuilder node

.PHONY: images
images: host-deps docker ## Build the workload images (hello server, client with BIND's nslookup, resolver probes, the DNS probe alone)
	go run ./cmd/imagebuilder workloads

.PHONY: probe-image
probe-image: docker ## Build only the DNS probe's image (PROBE_IMAGE: a static binary, no base, no root needed), for pkg/headless's probe pod
	go run ./cmd/imagebuilder probe

.PHONY: cluster
cluster: tools docker ## Create (or reuse) the 3-node kind cluster
	go run ./cmd/imagebuilder prepare cluster
	go run ./cmd/cluster up

.PHONY: cluster-down
cluster-down: ## Delete the cluster (KIND_CLUSTER_NAME, default DEFAULT_CLUSTER_NAME in versions.env: kind), only if this project created it (its nodes carry the label headless-e2e/created-by)
	go run ./cmd/cluster down

.PHONY: tools
tools: $(BIN)/kind $(BIN)/kubectl $(BIN)/gotestsum ## kind, kubectl, gotestsum at their pinned versions, into ./bin

$(BIN)/kind: go.mod
	GOBIN=$(BIN) go install sigs.k8s.io/kind

# Online a kubectl on PATH within one minor version of the cluster's is linked; else built.
$(BIN)/kubectl: versions.env
	go run ./cmd/imagebuilder kubectl $(BIN)

$(BIN)/gotestsum: versions.env
	GOBIN=$(BIN) go install gotest.tools/gotestsum@$(GOTESTSUM_VERSION)

$(BIN)/actionlint: versions.env
	GOBIN=$(BIN) go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

##@ Quality

.PHONY: lint
lint: $(BIN)/actionlint host-deps ## gofmt, go vet, shellcheck, actionlint, Vagrantfile syntax
	test -z "$$(gofmt -l .)" || { gofmt -l .; echo "gofmt: run gofmt -w on the files above"; exit 1; }
	go vet ./...
	shellcheck scripts/*.sh vagrant/kind/*.sh .ci/run
	actionlint
	ruby -c vagrant/kind/Vagrantfile

.PHONY: soak
soak: prepare ## Run the suite N times (default 20) on a reused cluster; SCRATCH=1: a new cluster each run
	scripts/soak.sh $(N)

.PHONY: profiles
profiles: prepare ## The DNS setups users run (DNS_PROFILES: kubeadm, cache30, nodelocal), each on a cluster of its own: the profile features, and their rows of ARTIFACTS/dns-profiles.md
	mkdir -p $(ARTIFACTS)
	rc=0; for p in $(DNS_PROFILES); do \
	  DNS_PROFILE=$$p KIND_CLUSTER_NAME=profile-$$p KEEP_CLUSTER=never \
	    $(MAKE) --no-print-directory e2e ARGS='--labels area=profile' JUNIT=junit-profile-$$p.xml || rc=1; \
	done; cat $(ARTIFACTS)/dns-profiles.md; exit $$rc

# The IP families other than the course's own (ipv4) that make ip-families runs.
IP_FAMILIES ?= dual ipv6
.PHONY: ip-families
ip-families: prepare ## The cluster, course, contract and resolver features on a cluster of each IP family (IP_FAMILIES: dual ipv6), each its own, named family-<family>; JUnit and resolver matrix per family in ARTIFACTS
	mkdir -p $(ARTIFACTS)
	rc=0; for f in $(IP_FAMILIES); do \
	  IP_FAMILY=$$f KIND_CLUSTER_NAME=family-$$f KEEP_CLUSTER=$${KEEP_CLUSTER:-never} \
	    $(MAKE) --no-print-directory e2e ARGS='--labels area=cluster,area=course,area=contract,area=resolvers --skip-labels pace=slow' JUNIT=junit-$$f.xml || rc=1; \
	done; exit $$rc

.PHONY: bad-input-check
bad-input-check: prepare ## Provoke each kind of bad input (no docker, no permission, taken name, broken manifest, missing image, crash loop...) and check its message
	scripts/bad-input-check.sh

.PHONY: online-check
online-check: ## The online path, simulated: images under their public names, the egress guard up, then make lab and make test as a non-root docker user without OFFLINE (needs root; prints the time to the lab's first step)
	scripts/online-check.sh

.PHONY: egress-check
egress-check: host-deps ## The egress guard in network namespaces of its own: both families dropped, down leaves what it found, a removed or bypassed rule fails check (needs root; sends nothing off the machine)
	scripts/egress-guard-check.sh

.PHONY: interrupt-check
interrupt-check: prepare ## Ctrl-C during cluster creation, image load and a feature: teardown within 30 s, nothing left; a second Ctrl-C exits at once
	scripts/interrupt-check.sh

.PHONY: help
help: ## This list
	@awk 'BEGIN {FS = ":.*##"; printf "usage: make <target>\n"} /^[a-zA-Z0-9_-]+:.*?##/ { printf "  %-18s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)
