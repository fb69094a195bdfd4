# Chatr build. `make run` starts everything locally; `make test` runs every test.
# Release binaries go to build/bin, sanitizer (ASan+UBSan) binaries to build/asan/bin.

CC      ?= cc
CSTD    := -std=c11 -D_GNU_SOURCE
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
INCS    = $(addprefix -I,$(LIB_DIRS)) -Ifunctions/common -I/usr/include/postgresql -I/usr/include/json-c
LDLIBS  := -lfcgi -ljson-c -lsodium -lpq -lcurl -lcrypto -lm

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
# What every function shares of the application (not of the platform): functions/common.
APP_COMMON := $(wildcard functions/common/*.c)
FUNCS     := $(notdir $(patsubst %/,%,$(dir $(wildcard functions/*/function.json))))
GW_PROGS  := $(filter-out runtime sdk nginx,$(notdir $(patsubst %/,%,$(dir $(wildcard gateway/*/main.c)))))
PROGS     := $(addprefix $(OUT)/bin/fn-,$(FUNCS)) $(addprefix $(OUT)/bin/,$(GW_PROGS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
# Pure logic of functions that the unit tests link too (no I/O, no library beyond ours).
UNIT_APP_LOGIC := functions/files/files_policy.c

# Libraries one function needs and no other program: LDLIBS_<function>, and its sources' flags
# (the headers as system headers: their own warnings are not ours). The files function
# (docs/files.md): GMime reads multipart bodies, libmagic tells types, libvips makes thumbnails.
# Expanded when used (=, not :=): `make run` installs the packages (deps) before it builds.
FILES_PKGS   := vips gmime-3.0
FILES_CFLAGS  = $(patsubst -I%,-isystem %,$(shell pkg-config --cflags $(FILES_PKGS) 2>/dev/null))
LDLIBS_files  = $(shell pkg-config --libs $(FILES_PKGS) 2>/dev/null) -lmagic
$(OUT)/obj/functions/files/%.o: CFLAGS += $(FILES_CFLAGS)

# The frame gate: an nginx dynamic module of ours (gateway/nginx/module, docs/frame-gate.md),
# built against Debian's nginx source (nginx-dev) with Debian's configure flags so the nginx we
# run loads it. The same .so in every MODE (nginx itself runs without sanitizers); its pure
# logic (frame_gate.c) is also linked into the unit tests. The rate comes from gateway/hub/hub.h.
GATE_SO      := build/modules/ngx_http_chatr_gate_module.so
GATE_LOGIC   := gateway/nginx/module/frame_gate.c
GATE_NGX     := build/nginx-src
HUB_RATE     = $(shell sed -n 's/^\#define HUB_RATE_PER_SEC \([0-9]*\).*/\1/p' gateway/hub/hub.h)
HUB_BURST    = $(shell sed -n 's/^\#define HUB_RATE_BURST \([0-9]*\).*/\1/p' gateway/hub/hub.h)
UNIT_BIN  := $(OUT)/bin/unit-tests

.PHONY: all asan deps run test test-unit test-api test-e2e bench fmt fmt-check clean gate-module
all: $(PROGS) $(UNIT_BIN) $(GATE_SO)

asan:
	@$(MAKE) --no-print-directory MODE=asan all

$(OUT)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# Made anew each time: `ar` would keep the objects of source files that were removed or renamed.
$(LIBCHATR): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# ICU: the reactions' emoji check (functions/eventHandler/emoji.c), also in the fuzz target that
# links the eventHandler's sources.
LDLIBS_eventHandler      := -licuuc
fuzz_ldlibs_cloudevents  := $(LDLIBS_eventHandler)

define FUNC_template
$(OUT)/bin/fn-$(1): $(patsubst %.c,$(OUT)/obj/%.o,$(wildcard functions/$(1)/*.c) $(APP_COMMON)) $(LIBCHATR)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS) $$(LDLIBS_$(1))
endef
$(foreach f,$(FUNCS),$(eval $(call FUNC_template,$(f))))

define GW_template
$(OUT)/bin/$(1): $(patsubst %.c,$(OUT)/obj/%.o,$(wildcard gateway/$(1)/*.c)) $(LIBCHATR)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach p,$(GW_PROGS),$(eval $(call GW_template,$(p))))

$(UNIT_BIN): $(patsubst %.c,$(OUT)/obj/%.o,$(UNIT_SRCS) $(GATE_LOGIC) $(UNIT_APP_LOGIC)) $(LIBCHATR)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(GATE_NGX)/objs/Makefile: gateway/nginx/module/config gateway/hub/hub.h
	rm -rf $(GATE_NGX) && mkdir -p build && cp -r /usr/share/nginx/src $(GATE_NGX)
	cd $(GATE_NGX) && bash -c '. ./conf_flags && ./configure "$${NGX_CONF_FLAGS[@]}" \
	  --add-dynamic-module=$(CURDIR)/gateway/nginx/module \
	  --with-cc-opt="-DCHATR_RATE_PER_SEC=$(HUB_RATE) -DCHATR_RATE_BURST=$(HUB_BURST)"' \
	  > configure.log 2>&1 || { tail -20 configure.log; exit 1; }

$(GATE_SO): $(GATE_NGX)/objs/Makefile $(wildcard gateway/nginx/module/*.c gateway/nginx/module/*.h)
	$(MAKE) --no-print-directory -C $(GATE_NGX) -f objs/Makefile modules > /dev/null
	@mkdir -p $(dir $@)
	cp $(GATE_NGX)/objs/ngx_http_chatr_gate_module.so $@

gate-module: $(GATE_SO)

-include $(shell find $(OUT)/obj -name '*.d' 2>/dev/null)

deps:
	@bash infra/deps.sh

run: deps all
	CHATR_BIN_DIR=$(CURDIR)/build/bin infra/emulator start --foreground

test: deps
	@$(MAKE) --no-print-directory asan
	@$(MAKE) --no-print-directory -C tests/bench MODE=asan test
	@$(MAKE) --no-print-directory fmt-check test-unit test-api test-e2e test-fuzz test-chaos

test-unit:
	build/asan/bin/unit-tests

test-api:
	CHATR_BIN_DIR=$(CURDIR)/build/asan/bin /usr/bin/python3 -m pytest -q tests/api

test-e2e:
	CHATR_BIN_DIR=$(CURDIR)/build/asan/bin node --test tests/e2e/

bench: deps all
	@$(MAKE) --no-print-directory -C tests/bench
	/usr/bin/python3 tests/bench/run.py

# ---- Fuzzing (tests/fuzz, docs/fuzzing.md) ----------------------------------------------------
# One libFuzzer program per tests/fuzz/fuzz_<name>.c, built with clang into build/fuzz: the
# gateway libraries again with coverage (fuzzer-no-link) and ASan+UBSan, plus the program sources
# a target reaches (fuzz_extra_<name>). `make fuzz` runs each for FUZZ_SECONDS and fails on the
# first crash, leak or broken property; `make test-fuzz` is the short run of `make test`. New
# inputs go to build/fuzz/corpus/<name>, crashes to build/fuzz/crash-<name>-*; the seeds in
# tests/fuzz/corpus/<name> are only read.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TEST_SECONDS ?= 4
FUZZ_OUT     := build/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  = $(CSTD) $(WARN) -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) $(INCS) \
               -DFUZZ_ROOT='"$(CURDIR)"'
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(addprefix $(FUZZ_OUT)/bin/fuzz_,$(FUZZ_NAMES))
FUZZ_LIB     := $(FUZZ_OUT)/lib/libchatr.a
# Sources outside the libraries that a target needs (a target #includes a program's main.c,
# with main renamed, to reach its static handler; the rest of that program links in here).
fuzz_extra_router      := $(filter-out %/main.c,$(wildcard gateway/hub-router/*.c))
fuzz_extra_rest        := $(filter-out %/main.c,$(wildcard gateway/hub-rest/*.c))
fuzz_extra_cookie      := $(filter-out %/main.c,$(wildcard gateway/auth/*.c))
fuzz_extra_idtoken     := gateway/auth/auth_oidc_jwt.c gateway/auth/auth_util.c
fuzz_extra_cloudevents := $(filter-out %/eventHandler.c,$(wildcard functions/eventHandler/*.c)) $(APP_COMMON)
fuzz_extra_files       := functions/files/files_multipart.c functions/files/files_policy.c
# Libraries a target needs beyond LDLIBS (fuzz_ldlibs_<name>), and the flags of its sources.
fuzz_ldlibs_files       = $(shell pkg-config --libs gmime-3.0 2>/dev/null)
$(FUZZ_OUT)/obj/functions/files/%.o $(FUZZ_OUT)/obj/tests/fuzz/fuzz_files.o: FUZZ_CFLAGS += $(FILES_CFLAGS)
# libFuzzer: -close_fd_mask=2 sends the programs' own log lines (fn_log) to /dev/null while
# libFuzzer and the sanitizers keep reporting on a copy of stderr.
FUZZ_RUN     = -close_fd_mask=2 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1

.PHONY: fuzz fuzz-build test-fuzz
fuzz-build: $(FUZZ_BINS)

$(FUZZ_OUT)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_LIB): $(patsubst %.c,$(FUZZ_OUT)/obj/%.o,$(LIB_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# A target's extra sources go into an archive of their own, so only what it uses is linked.
define FUZZ_template
$(FUZZ_OUT)/lib/libfuzz_$(1).a: $(patsubst %.c,$(FUZZ_OUT)/obj/%.o,$(fuzz_extra_$(1)))
	@mkdir -p $$(dir $$@)
	rm -f $$@ && ar rcs $$@ $$^
$(FUZZ_OUT)/bin/fuzz_$(1): $(FUZZ_OUT)/obj/tests/fuzz/fuzz_$(1).o $(FUZZ_OUT)/lib/libfuzz_$(1).a $(FUZZ_LIB)
	@mkdir -p $$(dir $$@)
	$$(FUZZ_CC) $$(FUZZ_SAN) -fsanitize=fuzzer -o $$@ $$^ $$(LDLIBS) $$(fuzz_ldlibs_$(1))
endef
$(foreach n,$(FUZZ_NAMES),$(eval $(call FUZZ_template,$(n))))

-include $(shell find $(FUZZ_OUT)/obj -name '*.d' 2>/dev/null)

# Runs every target for $(1) seconds, one after the other, growing the corpus in $(2); the first
# failure stops the run and shows libFuzzer's report (the whole log is build/fuzz/<name>.log).
define FUZZ_run
	@for n in $(FUZZ_NAMES); do \
	    mkdir -p $(2)/$$n; rc=0; \
	    $(FUZZ_OUT)/bin/fuzz_$$n $(FUZZ_RUN) -max_total_time=$(1) \
	        -artifact_prefix=$(FUZZ_OUT)/crash-$$n- \
	        $(2)/$$n tests/fuzz/corpus/$$n >$(FUZZ_OUT)/$$n.log 2>&1 || rc=$$?; \
	    runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $(FUZZ_OUT)/$$n.log); \
	    if [ $$rc -ne 0 ]; then tail -n 60 $(FUZZ_OUT)/$$n.log; \
	        echo "fuzz $$n: FAILED after $$runs runs (input: $(FUZZ_OUT)/crash-$$n-*)"; exit 1; fi; \
	    echo "fuzz $$n: $(1) s, $$runs runs, no crash"; \
	done
endef

fuzz: fuzz-build
	$(call FUZZ_run,$(FUZZ_SECONDS),$(FUZZ_OUT)/corpus)

# The short run of `make test`: the committed seeds (regression inputs included), then a few
# seconds of new inputs, from a fresh corpus so that the time stays the same run after run.
test-fuzz: fuzz-build
	@rm -rf $(FUZZ_OUT)/corpus-test
	$(call FUZZ_run,$(FUZZ_TEST_SECONDS),$(FUZZ_OUT)/corpus-test)

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

# Part of `make test`: unformatted C fails the build (run `make fmt`).
fmt-check:
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

# ---- Production install (infra/systemd, docs/deployment.md) ------------------------------------
# `make install` (as root; DESTDIR=... to stage it, PREFIX=/usr for a Debian package) installs the
# programs of this MODE's build (release by default), the front end with the vendored files
# index.html uses, the schema and its migrate script, the nginx templates and their renderer, one
# systemd unit per component plus chatr.target, the system user (sysusers.d), /run/chatr
# (tmpfiles.d) and, only if absent, the settings /etc/chatr/chatr.env (0640 root:chatr). Without
# DESTDIR it then creates the user and folders and reloads systemd.
PREFIX         ?= /usr/local
LIBEXECDIR     ?= $(PREFIX)/lib/chatr
SHAREDIR       ?= $(PREFIX)/share/chatr
DOCDIR         ?= $(PREFIX)/share/doc/chatr
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR    ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR    ?= $(PREFIX)/lib/tmpfiles.d
SYSCONFDIR     ?= /etc
STATEDIR       ?= /var/lib/chatr
RUNDIR         ?= /run/chatr
# what frontend/index.html takes from node_modules (with the fonts all.min.css names, licences)
FRONTEND_VENDOR := bulma/css/bulma.min.css bulma/LICENSE vue/dist/vue.esm-browser.prod.js \
                   vue/LICENSE @fortawesome/fontawesome-free/css/all.min.css \
                   @fortawesome/fontawesome-free/webfonts @fortawesome/fontawesome-free/LICENSE.txt
INSTALL_PATHS   = LIBEXECDIR=$(LIBEXECDIR) SHAREDIR=$(SHAREDIR) DOCDIR=$(DOCDIR) \
                  SYSCONFDIR=$(SYSCONFDIR) STATEDIR=$(STATEDIR) RUNDIR=$(RUNDIR) \
                  MULTIWATCH=/usr/bin/multiwatch PYTHON=/usr/bin/python3

.PHONY: install
# $(GATE_SO): the frame gate module, once merged (empty before: then build/modules has none)
install: $(PROGS) $(GATE_SO)
	@for f in $(FRONTEND_VENDOR); do test -e frontend/node_modules/$$f || \
	    { echo "install: frontend/node_modules/$$f is missing (run make deps)" >&2; exit 1; }; done
	rm -rf $(OUT)/systemd && /usr/bin/python3 infra/systemd/render.py . $(OUT)/systemd $(INSTALL_PATHS)
	install -d $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(SHAREDIR)/infra $(DESTDIR)$(SHAREDIR)/schema \
	    $(DESTDIR)$(SHAREDIR)/gateway/moderation $(DESTDIR)$(SHAREDIR)/frontend/node_modules \
	    $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
	    $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(SYSCONFDIR)/chatr
	install -m 0755 $(PROGS) infra/systemd/chatr-setup infra/systemd/chatr-nginx infra/log-redactor \
	    $(DESTDIR)$(LIBEXECDIR)/
	@# our nginx modules (build/modules/*.so), where the rendered load_module finds them
	if ls build/modules/*.so >/dev/null 2>&1; then \
	    install -d $(DESTDIR)$(LIBEXECDIR)/modules $(DESTDIR)$(SHAREDIR)/build && \
	    install -m 0644 build/modules/*.so $(DESTDIR)$(LIBEXECDIR)/modules/ && \
	    ln -sfnr $(DESTDIR)$(LIBEXECDIR)/modules $(DESTDIR)$(SHAREDIR)/build/modules; fi
	install -m 0644 schema/*.sql $(DESTDIR)$(SHAREDIR)/schema/
	install -m 0755 schema/migrate $(DESTDIR)$(SHAREDIR)/schema/
	install -m 0644 infra/nginx_render.py infra/swa_routes.py $(DESTDIR)$(SHAREDIR)/infra/
	install -m 0755 infra/emulator $(DESTDIR)$(SHAREDIR)/infra/
	rm -rf $(DESTDIR)$(SHAREDIR)/gateway/nginx && cp -r gateway/nginx $(DESTDIR)$(SHAREDIR)/gateway/nginx
	find $(DESTDIR)$(SHAREDIR)/gateway/nginx -type f ! -name '*.in' -delete
	@# production hub settings: the app's `chat` hub only; the emulator's bench and test hubs
	@# (bench, testhub, ...) stay in the checkout (docs/deployment.md)
	/usr/bin/python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); d["hubs"] = {"chat": d["hubs"]["chat"]}; json.dump(d, sys.stdout, indent=2)' gateway/hubs.json > $(OUT)/hubs.json
	install -m 0644 $(OUT)/hubs.json $(DESTDIR)$(SHAREDIR)/gateway/hubs.json
	install -m 0644 gateway/moderation/words.txt $(DESTDIR)$(SHAREDIR)/gateway/moderation/
	for f in functions/*/function.json; do install -D -m 0644 $$f $(DESTDIR)$(SHAREDIR)/$$f; done
	@# the hub programs' pool sizes: the nginx configuration sizes their kept connections from them
	for f in gateway/*/program.json; do install -D -m 0644 $$f $(DESTDIR)$(SHAREDIR)/$$f; done
	cd frontend && find . -path ./node_modules -prune -o -name 'package*.json' -o -type f -print \
	    | while read -r f; do install -D -m 0644 "$$f" "$(DESTDIR)$(SHAREDIR)/frontend/$$f"; done
	cd frontend/node_modules && cp -r --parents $(FRONTEND_VENDOR) $(DESTDIR)$(SHAREDIR)/frontend/node_modules/
	install -m 0644 docs/deployment.md docs/operations.md $(DESTDIR)$(DOCDIR)/
	install -m 0644 $(OUT)/systemd/*.service $(OUT)/systemd/*.socket $(OUT)/systemd/*.target \
	    $(DESTDIR)$(SYSTEMDUNITDIR)/
	install -m 0644 $(OUT)/systemd/chatr.sysusers $(DESTDIR)$(SYSUSERSDIR)/chatr.conf
	install -m 0644 $(OUT)/systemd/chatr.tmpfiles $(DESTDIR)$(TMPFILESDIR)/chatr.conf
	install -m 0644 $(OUT)/systemd/chatr.env $(DESTDIR)$(SHAREDIR)/chatr.env.example
	@# the settings: only if absent (never overwrite an admin's), readable by root and chatr only
	if [ ! -e $(DESTDIR)$(SYSCONFDIR)/chatr/chatr.env ]; then \
	    install -m 0640 $(OUT)/systemd/chatr.env $(DESTDIR)$(SYSCONFDIR)/chatr/chatr.env; \
	    if [ -z "$(DESTDIR)" ]; then systemd-sysusers $(SYSUSERSDIR)/chatr.conf; fi; \
	    chown root:chatr $(DESTDIR)$(SYSCONFDIR)/chatr/chatr.env 2>/dev/null || \
	        echo "install: set the owner of $(SYSCONFDIR)/chatr/chatr.env to root:chatr once the user exists"; \
	else echo "install: kept $(SYSCONFDIR)/chatr/chatr.env (the new list: $(SHAREDIR)/chatr.env.example)"; fi
	if [ -z "$(DESTDIR)" ]; then systemd-sysusers $(SYSUSERSDIR)/chatr.conf && \
	    install -d -m 0750 -o chatr -g chatr $(STATEDIR) && \
	    systemd-tmpfiles --create $(TMPFILESDIR)/chatr.conf && \
	    { ! [ -d /run/systemd/system ] || systemctl daemon-reload; }; fi
