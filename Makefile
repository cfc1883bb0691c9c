# corral: one non-recursive Makefile.
#
#   make            build everything under build/
#   make deps       install missing Debian packages (scripts/deps.sh)
#   make test       deps, build, then every unit and integration test
#   make run        deps, build, then the bundled example
#   make SAN=1 test the same under ASan and UBSan (separate build tree)
#   make clean
#
# Sources are found by wildcard: a new .c in a folder is built and linked
# without touching this file; <folder>/main.c is a program's main().

CC		?= cc
SAN		?= 0
BUILD		?= build
ifeq ($(SAN),1)
BUILD		:= build/san
endif

WARN		:= -Wall -Wextra -Werror -Wshadow -Wformat=2 \
		   -Wmissing-prototypes
CFLAGS		?= -O2 -g
HOST_CFLAGS	:= -std=gnu11 $(WARN) $(CFLAGS) -D_GNU_SOURCE -I.
DEPFLAGS	:= -MMD -MP
HOST_LDFLAGS	:= $(LDFLAGS)
HOST_LIBS	:= -lpthread
ifeq ($(SAN),1)
HOST_CFLAGS	+= -fsanitize=address,undefined -fno-omit-frame-pointer \
		   -fno-sanitize-recover=undefined
HOST_LDFLAGS	+= -fsanitize=address,undefined
endif

# The guest is freestanding: no host header, no host library, no SSE
# (nothing saves the FPU state on interrupts), no red zone (interrupts
# run on the same stack in ring 0).
GUEST_CFLAGS	:= -std=gnu11 $(WARN) -O2 -g -I. \
		   -ffreestanding -fno-builtin -nostdinc \
		   -isystem $(shell $(CC) -print-file-name=include) \
		   -fno-stack-protector -fno-pic -fno-pie -mno-red-zone \
		   -mgeneral-regs-only -mcmodel=small -fno-asynchronous-unwind-tables
GUEST_LDFLAGS	:= -nostdlib -static -no-pie -Wl,-T,guest/guest.ld \
		   -Wl,--build-id=none -Wl,-z,max-page-size=4096 \
		   -Wl,-z,noexecstack

# Host code: every folder's .c files but its main.c go into one archive
# per folder; programs and unit tests link the archives, dependents first,
# and the linker takes only the objects it needs.
HOST_DIRS	:= proxy pool conf vmm lib
archive		= $(BUILD)/lib$(if $(filter lib,$(1)),corral,$(1)).a
define archive_rule
$(1)_SRCS	:= $$(filter-out $(1)/main.c,$$(wildcard $(1)/*.c))
$(call archive,$(1)): $$($(1)_SRCS:%.c=$(BUILD)/obj/%.o)
	@rm -f $$@
	ar rcs $$@ $$^
endef
$(foreach d,$(HOST_DIRS),$(eval $(call archive_rule,$(d))))
ARCHIVES	:= $(foreach d,$(HOST_DIRS),$(if $($(d)_SRCS),$(call archive,$(d))))

# llhttp is compiled from the sources Debian's node-llhttp installs; it is
# generated code, so it gets the compiler's defaults, not our warnings.
LLHTTP_DIR	:= /usr/share/llhttp
LLHTTP_INC	:= /usr/share/include/llhttp
LLHTTP_OBJS	:= $(patsubst $(LLHTTP_DIR)/%.c,$(BUILD)/obj/llhttp/%.o, \
		   $(wildcard $(LLHTTP_DIR)/*.c))
HOST_CFLAGS	+= -I$(LLHTTP_INC)
EXT_LIBS	:= -levent_openssl -levent_pthreads -levent -lssl -lcrypto \
		   -lyaml -lpcre2-8 -luring -lpthread

GUEST_SRCS	:= $(wildcard guest/*.c guest/*.S)
UNIT_SRCS	:= $(wildcard tests/unit/test_*.c)
GUEST_OBJS	:= $(patsubst %,$(BUILD)/guestobj/%.o,$(basename $(GUEST_SRCS)))
UNIT_BINS	:= $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
HELPER_BINS	:= $(patsubst tests/integration/%.c,$(BUILD)/tests/%, \
		   $(wildcard tests/integration/*.c))

# A program is built once its main is in the tree.
PROGS		:= $(if $(wildcard vmm/main.c),$(BUILD)/corral-vmm) \
		   $(if $(wildcard guest/guest.ld),$(BUILD)/corral-guest) \
		   $(if $(wildcard proxy/main.c),$(BUILD)/corral)

.PHONY: all deps test unit integration run clean check-includes \
    check-headers
.DEFAULT_GOAL := all

all: $(PROGS)

deps:
	@scripts/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/obj/llhttp/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(CFLAGS) -DLLHTTP_STRICT_MODE=1 -I$(LLHTTP_INC) -c -o $@ $<

$(BUILD)/libllhttp.a: $(LLHTTP_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/corral: $(BUILD)/obj/proxy/main.o $(ARCHIVES) $(BUILD)/libllhttp.a
	$(CC) $(HOST_LDFLAGS) -o $@ $< $(LINK_ARCHIVES) $(EXT_LIBS)

$(BUILD)/corral-vmm: $(BUILD)/obj/vmm/main.o $(call archive,vmm) \
    $(call archive,lib)
	$(CC) $(HOST_LDFLAGS) -o $@ $^ $(HOST_LIBS)

$(BUILD)/guestobj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/guestobj/%.o: %.S
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) $(DEPFLAGS) -D__ASSEMBLY__ -c -o $@ $<

$(BUILD)/corral-guest: $(GUEST_OBJS) guest/guest.ld
	$(CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $@ $(GUEST_OBJS)

# Unit tests: each links the archives (the linker takes only the objects
# it needs) and, for test_guest_<x>.c, guest/<x>.c and guest/<x>_*.c
# compiled for the host.
$(BUILD)/hostguest/%.o: guest/%.c
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) $(DEPFLAGS) -c -o $@ $<

hostguest_objs = $(patsubst guest/%.c,$(BUILD)/hostguest/%.o, \
    $(wildcard guest/$(1).c guest/$(1)_*.c))
define guest_unit_rule
$(BUILD)/tests/test_guest_$(1): tests/unit/test_guest_$(1).c \
    $(call hostguest_objs,$(1)) $(call archive,lib)
	@mkdir -p $$(@D)
	$$(CC) $$(HOST_CFLAGS) $$(HOST_LDFLAGS) -o $$@ $$^ -lcmocka $$(HOST_LIBS)
endef
$(foreach t,$(patsubst tests/unit/test_guest_%.c,%,$(filter \
    tests/unit/test_guest_%,$(UNIT_SRCS))),$(eval $(call guest_unit_rule,$(t))))

# The archives as one group: pool/health.c uses proxy/http.c (the one
# named exception to the include direction), so no single order of
# archives satisfies every reference.
LINK_ARCHIVES	= -Wl,--start-group $(ARCHIVES) $(BUILD)/libllhttp.a \
		  -Wl,--end-group

$(BUILD)/tests/test_%: tests/unit/test_%.c $(ARCHIVES) $(BUILD)/libllhttp.a
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) $(HOST_LDFLAGS) -o $@ $< $(LINK_ARCHIVES) \
	    -lcmocka $(EXT_LIBS)

# Programs the integration tests run (origin servers, clients).
$(BUILD)/tests/%: tests/integration/%.c $(ARCHIVES) $(BUILD)/libllhttp.a
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) $(HOST_LDFLAGS) -o $@ $< $(LINK_ARCHIVES) \
	    $(EXT_LIBS)

# Benchmark helpers (bench/*.c): never part of the tests.
$(BUILD)/bench/%: bench/%.c $(call archive,lib)
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) $(HOST_LDFLAGS) -o $@ $^ $(HOST_LIBS)

test: deps
	@$(MAKE) --no-print-directory all check-includes check-headers \
	    $(UNIT_BINS) $(HELPER_BINS)
	@BUILD=$(BUILD) tests/run.sh

unit: $(UNIT_BINS)
	@BUILD=$(BUILD) tests/run.sh unit

integration: all $(HELPER_BINS)
	@BUILD=$(BUILD) tests/run.sh integration

run: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) scripts/run.sh

# Includes point one way (STYLE.md): proxy -> pool -> conf -> lib and
# vmm -> lib; guest/ includes nothing of the host tree.
check-includes:
	@scripts/check-includes.sh

# Every header compiles on its own.
HEADERS		:= $(wildcard $(HOST_DIRS:%=%/*.h))
check-headers: $(HEADERS:%.h=$(BUILD)/hdr/%.ok)
$(BUILD)/hdr/%.ok: %.h
	@mkdir -p $(@D)
	@echo '#include "$<"' | $(CC) $(HOST_CFLAGS) -x c -fsyntax-only -
	@touch $@

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
