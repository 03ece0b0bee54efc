# dpc-notify: build, test and install. `make help` lists the targets.

PREFIX    ?= /usr/local
DESTDIR   ?=
# The version is written in one place, the VERSION file: --version, the
# image label, the Helm chart check and `make dist` all read it.
VERSION   := $(shell cat VERSION)
SANITIZE  ?=
PKGS      := libmicrohttpd libcurl libcjson inih sqlite3 libcrypto
CC        ?= cc
comma     := ,

# The build directory names the sanitizers: build-address-undefined.
BUILD     := build$(if $(SANITIZE),-$(subst $(comma),-,$(SANITIZE)))

# CFLAGS is the user's (optimisation, debug info); the flags the code needs
# are kept apart so `make CFLAGS=-O0` still builds with them.
CFLAGS    ?= -O2 -g
DPC_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror \
             -Wshadow -Wformat=2 -fno-strict-aliasing -Iinclude -MMD -MP \
             -DDPC_VERSION='"$(VERSION)"' $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS    += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
ifneq ($(SANITIZE),)
DPC_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS   += -fsanitize=$(SANITIZE)
endif
ALL_CFLAGS = $(DPC_CFLAGS) $(CFLAGS)

# One folder per subsystem under src/ (see docs/ARCHITECTURE.md).
SRCS      := $(wildcard src/*.c src/*/*.c)
OBJS      := $(SRCS:src/%.c=$(BUILD)/obj/%.o)
LIBOBJS   := $(filter-out $(BUILD)/obj/main.o,$(OBJS))
BIN       := $(BUILD)/dpc-notify
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps check unit demo try clean install lint valgrind fuzz bench docker-check help \
	dist image helm-check
all: $(BIN) dpc-notify

# The plain build also leaves ./dpc-notify for convenience.
dpc-notify: $(BIN)
	@if [ -z "$(SANITIZE)" ]; then cp $(BIN) $@; fi

$(BIN): $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# A test's dependency file goes to .deps/, so tests/ holds only programs.
$(BUILD)/tests/%: tests/unit/%.c $(LIBOBJS)
	@mkdir -p $(dir $@).deps
	$(CC) $(ALL_CFLAGS) -MF $(dir $@).deps/$*.d $(LDFLAGS) -o $@ $< $(LIBOBJS) $(LDLIBS) -lcmocka

# test_view checks the renderers' private view (src/render/render_int.h).
$(BUILD)/tests/test_view: ALL_CFLAGS += -Isrc/render

# test_worker defines the Matillion client and chat delivery itself (link
# seams), so it links without them and without the CLI and the service,
# which call them.
SEAMED    := $(addprefix $(BUILD)/obj/,matillion/dpc.o delivery/deliver.o cli.o serve.o poll/poll.o)
$(BUILD)/tests/test_worker: tests/unit/test_worker.c $(filter-out $(SEAMED),$(LIBOBJS))
	@mkdir -p $(dir $@).deps
	$(CC) $(ALL_CFLAGS) -MF $(dir $@).deps/test_worker.d $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

-include $(OBJS:.o=.d) $(wildcard $(BUILD)/tests/.deps/*.d)

deps:
	@sh scripts/install-deps.sh

unit: $(UNIT_BINS)

check: deps $(BIN) $(UNIT_BINS)
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) sh tests/run.sh

# demo and try also leave ./dpc-notify, the name the README uses.
demo: deps $(BIN) dpc-notify
	@BUILD=$(BUILD) sh scripts/demo.sh

# The mocks and the service on loopback, with the commands to try them.
try: $(BIN) dpc-notify
	@BUILD=$(BUILD) sh scripts/try.sh

install: $(BIN)
	@BUILD=$(BUILD) PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) sh scripts/install.sh

valgrind: deps $(UNIT_BINS)
	@BUILD=$(BUILD) sh scripts/valgrind.sh

# FUZZ_SECONDS per target (default 60).
fuzz:
	@sh scripts/fuzz.sh $(FUZZ_SECONDS)

bench: deps $(BIN)
	@BUILD=$(BUILD) python3 bench/run.py

docker-check:
	@sh scripts/docker-check.sh

# Release artefacts in dist/. The source tarball is `git archive` of HEAD
# (tracked files only, so nothing local leaks in); it refuses to run when
# CHANGELOG.md has no "## VERSION" heading for the VERSION file's version.
dist:
	@grep -q '^## $(VERSION)\b' CHANGELOG.md || \
		{ echo "dist: CHANGELOG.md has no '## $(VERSION)' entry"; exit 1; }
	@mkdir -p dist
	git archive --format=tar.gz --prefix=dpc-notify-$(VERSION)/ \
		-o dist/dpc-notify-$(VERSION).tar.gz HEAD
	@cd dist && sha256sum dpc-notify-$(VERSION).tar.gz | tee dpc-notify-$(VERSION).tar.gz.sha256

# The container image, built by scripts/docker-build.sh (needs the local
# base from scripts/docker-base.sh, or BASE=debian:bookworm-slim), saved
# with `docker save` to dist/ and named by its digest.
image:
	@sh scripts/docker-image.sh

helm-check:
	@sh scripts/docker-helm.sh

# Formatting (.clang-format), cppcheck's warnings, and banned functions.
# varFuncNullUB: our variadic log calls end with NULL, which glibc defines
# as ((void *)0), a pointer, as the callee reads it.
LINT_C := $(wildcard src/*.c src/*/*.c src/*/*.h include/*.h tests/unit/*.c tests/unit/*.h)
lint:
	@clang-format --dry-run -Werror $(LINT_C)
	@cppcheck -q --std=c11 --enable=warning,portability,performance --error-exitcode=1 \
		--inline-suppr --suppress=missingIncludeSystem --suppress=varFuncNullUB \
		-Iinclude -j2 src
	@! grep -nE '\b(sprintf|vsprintf|strcpy|strcat|atoi|atol|strtok|gets)\s*\(' src/*.c src/*/*.c include/*.h \
		|| { echo "lint: banned function used"; exit 1; }
	@echo "lint: 3 passed, 0 failed"

clean:
	rm -rf build build-* dpc-notify

help:
	@echo "make            build ./dpc-notify"
	@echo "make check      unit + integration tests (SANITIZE=address,undefined supported)"
	@echo "make demo       run dpc-notify against the bundled mocks and show the messages"
	@echo "make try        start the mocks and dpc-notify, print the commands to try them"
	@echo "make install    install binary, man pages, example config (PREFIX, DESTDIR)"
	@echo "make valgrind   unit tests under valgrind (zero errors, zero leaks)"
	@echo "make fuzz       libFuzzer targets, FUZZ_SECONDS each (default 60)"
	@echo "make bench      benchmarks against nginx and Alertmanager; writes bench/results/latest.json"
	@echo "make docker-check  build the image without a registry and test it end to end"
	@echo "make dist       source tarball dist/dpc-notify-VERSION.tar.gz (git archive)"
	@echo "make image      image tarball dist/dpc-notify-VERSION-image.tar (docker save) and its digest"
	@echo "make helm-check lint and render docker/helm/dpc-notify (skipped without helm)"
	@echo "make lint       clang-format, cppcheck and banned-function checks"
