# Enterprise SSO broker. `make run` and `make test` are the two commands that matter; see README.
SHELL := /bin/bash
BUILD ?= build
CC ?= cc
SERVICES := gateway token saml oidc directory scim
TOOLS := ssoctl supervisor
PKGS := libzmq libczmq libprotobuf-c libmicrohttpd jansson libcurl sqlite3 libpq openssl libxml-2.0 xmlsec1-openssl zlib

# SAN=1 builds everything with AddressSanitizer + UndefinedBehaviorSanitizer into build-asan.
ifeq ($(SAN),1)
  BUILD := build-asan
  CC := clang
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  OPT := -O1
else
  OPT := -O2
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g $(OPT) $(SANFLAGS) -MMD -MP \
          -ffunction-sections -fdata-sections \
          -Ilib -I$(BUILD)/gen $(PKG_CFLAGS)
LDFLAGS += $(SANFLAGS) -Wl,--as-needed
LDLIBS := $(PKG_LIBS) -lpthread

PROTOS := $(wildcard proto/*.proto)
GEN_C := $(patsubst proto/%.proto,$(BUILD)/gen/%.pb-c.c,$(PROTOS))
GEN_H := $(GEN_C:.c=.h)
LIB_SRCS := $(filter-out lib/selftest.c,$(wildcard lib/*.c))
LIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS)) $(GEN_C:.c=.o)
LIBSSO := $(BUILD)/libsso.a

BINS := $(addprefix $(BUILD)/bin/sso-,$(SERVICES)) $(BUILD)/bin/ssoctl $(BUILD)/bin/sso-supervisor
# Services whose modules come before the service: only their test-<svc> is built (none now).
TEST_ONLY_SERVICES :=
TESTBINS := $(BUILD)/bin/test-lib $(addprefix $(BUILD)/bin/test-,$(SERVICES) $(TEST_ONLY_SERVICES))

.SECONDARY: $(GEN_C) $(GEN_H)
.DELETE_ON_ERROR:
.PHONY: all deps build run test unit integration asan check fuzz bench clean help
all: build

help:
	@echo "make run    install missing packages, build, start every service (Ctrl-C stops)"
	@echo "make test   install missing packages, build, run every test (also under ASan/UBSan)"
	@echo "make check  the source conventions of docs/ARCHITECTURE.md (no build; under a second)"
	@echo "make unit   build, run the module self-tests; one alone: build/bin/test-directory dir_codes"
	@echo "make integration  build, run the pytest integration suites against the real processes"
	@echo "make asan   build with clang+ASan/UBSan into build-asan, run unit and integration there"
	@echo "make fuzz   run every libFuzzer target for FUZZ_SECONDS (60) each"
	@echo "make bench  run the benchmarks under bench/ (bus, then logins; see bench/README.md)"

deps:
	@scripts/deps.sh

build: $(BINS) $(TESTBINS)

$(BUILD)/gen/%.pb-c.c $(BUILD)/gen/%.pb-c.h: proto/%.proto
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen -Iproto $<

$(BUILD)/gen/%.pb-c.o: $(BUILD)/gen/%.pb-c.c $(GEN_H)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -Wno-unused-parameter -c $< -o $@

$(BUILD)/obj/%.o: %.c | $(GEN_H)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(LIBSSO): $(LIB_OBJS)
	@rm -f $@
	@ar rcs $@ $^

$(BUILD)/bin/test-lib: $(BUILD)/obj/lib/selftest.o $(LIBSSO)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The directory's schema migrations, one SQL file each (store/migrations/NNNN_<what>.sql),
# compiled in by a generated C file. The folder is a prerequisite too, so that adding, removing
# or renaming a file regenerates it.
MIGRATIONS_DIR := services/directory/store/migrations
MIGRATIONS := $(sort $(wildcard $(MIGRATIONS_DIR)/*.sql))
directory_GEN_OBJS := $(BUILD)/gen/dir_migrations.o $(BUILD)/gen/dir_openapi_doc.o
$(BUILD)/gen/dir_migrations.c: scripts/gen_migrations.py $(MIGRATIONS_DIR) $(MIGRATIONS)
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	@scripts/gen_migrations.py $@ $(MIGRATIONS)
$(BUILD)/gen/dir_migrations.o: $(BUILD)/gen/dir_migrations.c services/directory/store/dir_migrations.h
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -Iservices/directory -c $< -o $@
# The management API's OpenAPI document, written by hand, compiled in the same way (dir_openapi.h).
OPENAPI_DOC := services/directory/api/openapi.json
$(BUILD)/gen/dir_openapi_doc.c: scripts/gen_text.py scripts/gen_migrations.py $(OPENAPI_DOC)
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	@scripts/gen_text.py $@ api/dir_openapi.h dir_openapi_doc $(OPENAPI_DOC)
$(BUILD)/gen/dir_openapi_doc.o: $(BUILD)/gen/dir_openapi_doc.c services/directory/api/dir_openapi.h
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -Iservices/directory -c $< -o $@

# One rule set per service: sso-<svc> from its sources (in its folder and one level of
# sub-folders) minus selftest.c, test-<svc> from its sources minus main.c. A service's
# includes name its headers from the service's folder ("store/dir_db.h").
# Test kits and fakes (*_testkit.c, *_fake.c) are linked into test-<svc> only. The service
# binary is linked with --gc-sections: the modules' self-tests, which nothing in it calls, are
# dropped with their calls into the kits, so a production path that reached a kit would not
# link (scripts/unit.sh also checks the binaries' symbols).
TESTKIT_SRCS := %_testkit.c %_fake.c
define SERVICE_RULES
$(1)_SRCS := $$(wildcard services/$(1)/*.c services/$(1)/*/*.c)
$(BUILD)/obj/services/$(1)/%.o: CFLAGS += -Iservices/$(1)
$(1)_OBJS := $$(patsubst %.c,$(BUILD)/obj/%.o,$$(filter-out %/main.c %/selftest.c $(TESTKIT_SRCS),$$($(1)_SRCS))) $$($(1)_GEN_OBJS)
$(1)_KIT_OBJS := $$(patsubst %.c,$(BUILD)/obj/%.o,$$(filter $(TESTKIT_SRCS),$$($(1)_SRCS)))
$(BUILD)/bin/sso-$(1): $$($(1)_OBJS) $(BUILD)/obj/services/$(1)/main.o $(LIBSSO)
	@mkdir -p $$(dir $$@)
	@echo "  LINK    $$@"
	@$$(CC) $$(LDFLAGS) -Wl,--gc-sections -o $$@ $$^ $$(LDLIBS)
$(BUILD)/bin/test-$(1): $$($(1)_OBJS) $$($(1)_KIT_OBJS) $(BUILD)/obj/services/$(1)/selftest.o $(LIBSSO)
	@mkdir -p $$(dir $$@)
	@echo "  LINK    $$@"
	@$$(CC) $$(LDFLAGS) -o $$@ $$(filter-out $(LIBSSO),$$^) $(LIBSSO) $$(LDLIBS)
endef
$(foreach s,$(SERVICES) $(TEST_ONLY_SERVICES),$(eval $(call SERVICE_RULES,$(s))))
# The services that call the directory test against the real one, run in the test process
# by its kit (services/directory/dir_fake.h): their test binaries link the directory too.
DIR_FAKE_USERS := token saml oidc
$(foreach s,$(DIR_FAKE_USERS),\
  $(eval $(BUILD)/bin/test-$(s): $(directory_OBJS) $(directory_KIT_OBJS)))

$(BUILD)/bin/ssoctl: $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tools/ssoctl/*.c)) $(LIBSSO)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/sso-supervisor: $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tools/supervisor/*.c)) $(LIBSSO)
	@mkdir -p $(dir $@)
	@echo "  LINK    $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

run: deps
	@$(MAKE) --no-print-directory build
	@SSO_ENVIRONMENT="$${SSO_ENVIRONMENT:-development}" exec $(BUILD)/bin/sso-supervisor --bin-dir $(BUILD)/bin

unit: build
	@scripts/unit.sh $(BUILD)

integration: build
	@scripts/integration.sh $(BUILD)

asan: deps
	@$(MAKE) --no-print-directory SAN=1 build
	@SSO_SAN=1 scripts/unit.sh build-asan
	@SSO_SAN=1 scripts/integration.sh build-asan

test: deps
	@$(MAKE) --no-print-directory build
	@scripts/test.sh

# The conventions of docs/ARCHITECTURE.md that a machine can check (no build needed).
check:
	@scripts/checksrc.py

FUZZ_SECONDS ?= 60
fuzz: deps
	@scripts/fuzz.sh run $(FUZZ_SECONDS)

bench: deps
	@$(MAKE) --no-print-directory build
	@bench/bus.sh $(BUILD)
	@bench/login.sh $(BUILD)
	@bench/oidc.sh $(BUILD)
	@bench/scim.sh $(BUILD)
	@bench/scale.sh $(BUILD)

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
