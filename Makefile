# Chatr build. `make run` starts everything locally; `make test` runs every test.
# Release binaries go to build/bin, sanitizer (ASan+UBSan) binaries to build/asan/bin.

CC      ?= cc
CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
INCS    = $(addprefix -I,$(LIB_DIRS)) -I/usr/include/postgresql -I/usr/include/json-c
LDLIBS  := -lfcgi -ljson-c -lsodium -lpq -lcurl -lm

MODE    ?= release
ifeq ($(MODE),asan)
  OUT    := build/asan
  CFLAGS = $(CSTD) $(WARN) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined $(INCS)
  LDFLAGS := -fsanitize=address,undefined
else
  OUT    := build
  CFLAGS = $(CSTD) $(WARN) -O2 -g $(INCS)
  LDFLAGS :=
endif

# Libraries: every gateway/<dir> without a main.c (the function runtime, the Web PubSub SDK,
# the hub's shared code, ...), all in one static library.
GW_DIRS   := $(patsubst %/,%,$(filter-out gateway/nginx/,$(wildcard gateway/*/)))
LIB_DIRS  := $(foreach d,$(GW_DIRS),$(if $(wildcard $(d)/main.c),,$(d)))
LIB_SRCS  := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c))
LIB_OBJS  := $(patsubst %.c,$(OUT)/obj/%.o,$(LIB_SRCS))
LIBCHATR  := $(OUT)/lib/libchatr.a

# Programs: one per functions/<name>/ and per gateway/<prog>/ (other than the libraries).
FUNCS     := $(notdir $(patsubst %/,%,$(dir $(wildcard functions/*/function.json))))
GW_PROGS  := $(filter-out runtime sdk nginx,$(notdir $(patsubst %/,%,$(dir $(wildcard gateway/*/main.c)))))
PROGS     := $(addprefix $(OUT)/bin/fn-,$(FUNCS)) $(addprefix $(OUT)/bin/,$(GW_PROGS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(OUT)/bin/unit-tests

.PHONY: all asan deps run test test-unit test-api test-e2e bench fmt clean
all: $(PROGS) $(UNIT_BIN)

asan:
	@$(MAKE) --no-print-directory MODE=asan all

$(OUT)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIBCHATR): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	ar rcs $@ $^

define FUNC_template
$(OUT)/bin/fn-$(1): $(patsubst %.c,$(OUT)/obj/%.o,$(wildcard functions/$(1)/*.c)) $(LIBCHATR)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach f,$(FUNCS),$(eval $(call FUNC_template,$(f))))

define GW_template
$(OUT)/bin/$(1): $(patsubst %.c,$(OUT)/obj/%.o,$(wildcard gateway/$(1)/*.c)) $(LIBCHATR)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach p,$(GW_PROGS),$(eval $(call GW_template,$(p))))

$(UNIT_BIN): $(patsubst %.c,$(OUT)/obj/%.o,$(UNIT_SRCS)) $(LIBCHATR)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

-include $(shell find $(OUT)/obj -name '*.d' 2>/dev/null)

deps:
	@bash infra/deps.sh

run: deps all
	CHATR_BIN_DIR=$(CURDIR)/build/bin infra/emulator start --foreground

test: deps
	@$(MAKE) --no-print-directory asan
	@$(MAKE) --no-print-directory -C tests/bench MODE=asan test
	@$(MAKE) --no-print-directory test-unit test-api test-e2e test-chaos

test-unit:
	build/asan/bin/unit-tests

test-api:
	CHATR_BIN_DIR=$(CURDIR)/build/asan/bin /usr/bin/python3 -m pytest -q tests/api

test-e2e:
	CHATR_BIN_DIR=$(CURDIR)/build/asan/bin node --test tests/e2e/

bench: deps all
	@$(MAKE) --no-print-directory -C tests/bench
	/usr/bin/python3 tests/bench/run.py

# Fault drills (tests/chaos, docs/fault-drills.md): every scenario under a steady chat load,
# with lost and duplicate counting. `make chaos` runs them all (15 minutes while pools stay dead), `make
# test-chaos` one of each kind (about 2 minutes, part of `make test`). CHAOS_BIN picks the build.
CHAOS_BIN ?= $(CURDIR)/build/asan/bin
.PHONY: chaos test-chaos
chaos: deps
	@$(MAKE) --no-print-directory asan
	CHATR_BIN_DIR=$(CHAOS_BIN) CHATR_CHAOS_PROFILE=full /usr/bin/python3 -m pytest -q tests/chaos

test-chaos:
	CHATR_BIN_DIR=$(CHAOS_BIN) CHATR_CHAOS_PROFILE=reduced /usr/bin/python3 -m pytest -q tests/chaos

fmt:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build
