# cdht: plain GNU make and pkg-config (STYLE.md section 13).
#
#   make          build $(BUILD)/cdht
#   make test     unit tests (Criterion), the convergence simulation, then shell scenarios
#   make check    the same tests under ASan+UBSan in build/asan, plus fuzz corpus replay
#   make bench    the benchmark; writes build/bench.json
#   make demo     the main job on its embedded default (temporary folder, 127.0.0.1)
#   make fuzz     libFuzzer (clang) on every decoder for FUZZ_SECONDS each
#
# Every public target first runs `make deps`, which installs what pkg-config cannot find from
# Debian's archive (apt-get; sudo when not root), so a fresh machine needs nothing else.
# Each flag set builds in its own directory, so release and sanitizer objects never mix.

PKGS      := sqlite3 libuv nanomsg libzstd libsodium libprotobuf-c libutf8proc libcrypto inih \
             libzip expat xlsxwriter
# libcsv ships no pkg-config file: deps checks for its header, and it is linked by name.
# libreoffice-calc-nogui is for the tests only (test-deps, before `make test` and `make check`):
# report_xlsx_test.sh converts the XLSX report back to CSV with `libreoffice --headless` (issue 5
# item 4). About 82 MB to download and 266 MB on disk (55 packages on Debian 12, about 18 s from
# a near mirror), so `make` and `make demo` do not pull it in.
NOPC_HDRS := csv.h
NOPC_LIBS := -lcsv
TEST_PKGS := criterion
DEB_PKGS  := gcc make pkg-config libsqlite3-dev libuv1-dev libnanomsg-dev libzstd-dev \
             libsodium-dev libprotobuf-c-dev protobuf-c-compiler libutf8proc-dev libssl-dev \
             libinih-dev libcriterion-dev zstd sqlite3 \
             libcsv-dev libzip-dev libexpat1-dev libxlsxwriter-dev
TEST_DEB_PKGS := libreoffice-calc-nogui
FUZZ_DEB_PKGS := clang libclang-rt-14-dev
SUDO      := $(if $(filter 0,$(shell id -u)),,sudo)

BUILD ?= build/release
OPT   ?= -O2 -g
WARN  := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wformat=2 -Wvla
SAN   := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
GEN   := $(BUILD)/gen

INCLUDES   = -iquote proto -iquote node -iquote tools -iquote tests/support -I$(GEN)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS = -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(INCLUDES) $(WARN) $(OPT) \
             $(PKG_CFLAGS) $(CFLAGS)
GEN_CFLAGS = -std=c17 -D_POSIX_C_SOURCE=200809L $(INCLUDES) $(OPT) $(PKG_CFLAGS) $(CFLAGS)
ALL_LIBS   = $(PKG_LIBS) $(NOPC_LIBS) -lm $(LDLIBS)
TEST_LIBS  = $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)

# Every proto/*.proto becomes $(GEN)/<name>.pb-c.[ch] (protoc-c), compiled into libcdht.
PROTOS    := $(wildcard proto/*.proto)
PROTO_HDRS := $(PROTOS:proto/%.proto=$(GEN)/%.pb-c.h)
PROTO_OBJS := $(PROTOS:proto/%.proto=$(GEN)/%.pb-c.o)
LIB_SRCS  := $(wildcard proto/*.c node/*.c)
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(PROTO_OBJS)
TOOL_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tools/*.c))
UNIT_SRCS := $(wildcard tests/unit/*.c tests/sim/*.c tests/support/*.c)
UNIT_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(UNIT_SRCS))
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 30

.PHONY: all deps test-deps build test check bench demo fuzz clean _test _scenarios _fuzz-replay _bench
.DEFAULT_GOAL := all
# Keep objects that pattern rules build on the way (fuzz targets), so reruns do not rebuild.
.SECONDARY:

all: deps
	@$(MAKE) --no-print-directory build

deps:
	@missing=; \
	for p in $(PKGS) $(TEST_PKGS); do pkg-config --exists $$p 2>/dev/null || missing="$$missing $$p"; done; \
	for h in $(NOPC_HDRS); do [ -f /usr/include/$$h ] || missing="$$missing $$h"; done; \
	for c in protoc-c zstd sqlite3; do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: missing:$$missing; installing Debian packages"; \
	  $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEB_PKGS); \
	fi

# What only the tests need (see TEST_DEB_PKGS).
test-deps: deps
	@command -v libreoffice >/dev/null 2>&1 || { \
	  echo "deps: missing: libreoffice (for the XLSX report test); installing Debian packages"; \
	  $(SUDO) apt-get update && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(TEST_DEB_PKGS); }

build: $(BUILD)/cdht

# A pattern rule with two targets: one protoc-c run makes both files.
$(GEN)/%.pb-c.c $(GEN)/%.pb-c.h: proto/%.proto
	@mkdir -p $(GEN)
	protoc-c --proto_path=proto --c_out=$(GEN) $<

$(GEN)/%.pb-c.o: $(GEN)/%.pb-c.c $(GEN)/%.pb-c.h
	$(CC) $(GEN_CFLAGS) -c $< -o $@

$(BUILD)/%.o: %.c | $(PROTO_HDRS)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libcdht.a: $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/cdht: $(TOOL_OBJS) $(BUILD)/libcdht.a
	$(CC) $(OPT) $(LDFLAGS) -o $@ $(TOOL_OBJS) $(BUILD)/libcdht.a $(ALL_LIBS)

$(BUILD)/unit_tests: $(UNIT_OBJS) $(BUILD)/libcdht.a
	$(CC) $(OPT) $(LDFLAGS) -o $@ $(UNIT_OBJS) $(BUILD)/libcdht.a $(ALL_LIBS) $(TEST_LIBS)

$(BUILD)/cdht-bench: $(BUILD)/bench/bench.o $(BUILD)/libcdht.a
	$(CC) $(OPT) $(LDFLAGS) -o $@ $< $(BUILD)/libcdht.a $(ALL_LIBS)

# Replay drivers: each fuzz target linked with a plain main() that feeds it files.
$(BUILD)/fuzz/replay_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/replay.o $(BUILD)/libcdht.a
	@mkdir -p $(@D)
	$(CC) $(OPT) $(LDFLAGS) -o $@ $< $(BUILD)/tests/fuzz/replay.o $(BUILD)/libcdht.a $(ALL_LIBS)

test: test-deps
	@$(MAKE) --no-print-directory _test

_test: $(BUILD)/cdht $(BUILD)/unit_tests
	$(BUILD)/unit_tests --jobs 2
	@$(MAKE) --no-print-directory _scenarios

_scenarios: $(BUILD)/cdht
	CDHT=$(abspath $(BUILD)/cdht) bash tests/scenario/run.sh

check: test-deps
	@$(MAKE) --no-print-directory BUILD=build/asan OPT="-O1 -g $(SAN)" _test _fuzz-replay

# Ends with a plain "N passed, N failed" line (one per fuzz target) for CI's log reader.
_fuzz-replay: $(FUZZ_NAMES:%=$(BUILD)/fuzz/replay_%)
	@passed=0; for n in $(FUZZ_NAMES); do \
	  $(BUILD)/fuzz/replay_$$n tests/fuzz/corpus/$$n tests/fuzz/crashers/$$n || \
	    { echo "fuzz-replay: $$passed passed, 1 failed"; exit 1; }; \
	  passed=$$((passed + 1)); \
	done; echo "fuzz-replay: $$passed passed, 0 failed"

bench: deps
	@$(MAKE) --no-print-directory _bench

_bench: $(BUILD)/cdht $(BUILD)/cdht-bench
	$(BUILD)/cdht-bench --cdht $(BUILD)/cdht --out build/bench.json

demo: deps
	@$(MAKE) --no-print-directory build
	CDHT=$(abspath $(BUILD)/cdht) bash deploy/demo.sh

fuzz: deps
	@command -v clang >/dev/null 2>&1 && [ -n "$$(ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a 2>/dev/null)" ] || \
	  { $(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(FUZZ_DEB_PKGS); }
	@$(MAKE) --no-print-directory BUILD=build/fuzz CC=clang OPT="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" $(FUZZ_NAMES:%=build/fuzz/fuzzer_%)
	@for n in $(FUZZ_NAMES); do \
	  mkdir -p build/fuzz/corpus/$$n tests/fuzz/crashers/$$n; \
	  build/fuzz/fuzzer_$$n -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=tests/fuzz/crashers/$$n/ \
	    build/fuzz/corpus/$$n tests/fuzz/corpus/$$n || exit 1; \
	done

$(BUILD)/fuzzer_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/libcdht.a
	$(CC) $(OPT) -fsanitize=fuzzer,address,undefined -o $@ $< $(BUILD)/libcdht.a $(ALL_LIBS)

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
