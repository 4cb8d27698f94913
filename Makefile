# ticktap - build, test, demo, bench. `make help` lists the targets.
.DELETE_ON_ERROR:
.SUFFIXES:

CC      ?= cc
BUILD   ?= build
PKGS    := libpcap jansson yaml-0.1 libxxhash zlib rdkafka libbpf libxdp libmicrohttpd libcurl
# -flto: the per-protocol decoders live in separate files; LTO inlines the chain per packet.
# -mtune=native schedules for the CPU that builds (the binary still runs on any x86-64, unlike
# -march=native): 3.4% fewer instructions and 3-4% less time on the bench on a Xeon VM.
CFLAGS  ?= -O2 -g -flto=auto -mtune=native
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -MMD -MP -pthread
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lpcap -ljansson -lyaml -lxxhash -lz -lrdkafka -lbpf -lxdp -lelf -lmicrohttpd -lcurl) -lm -pthread
# DPDK (dpdk/): its headers want GNU C and SSE4.2; its PMDs are plugins the EAL loads.
DPDK_CFLAGS := -std=gnu11 -msse4.2 $(filter-out -march=%,$(shell pkg-config --cflags libdpdk 2>/dev/null))
LDLIBS  += $(shell pkg-config --libs libdpdk 2>/dev/null)

# Quiet unless V=1: each step says one line, the compiler's command lines are left out.
ifneq ($(V),1)
Q := @
endif

AGENT_SRCS := $(shell find agent dpdk -name '*.c' ! -name main.c | sort)
AGENT_OBJS := $(AGENT_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
GEN_SRCS   := $(sort $(wildcard tests/gen/*.c))

.PHONY: all print-ldlibs test-bins deps test unit integration live deploy image demo bench sanitize fuzz clean help format
all: $(BUILD)/ticktap $(BUILD)/ttgen $(BUILD)/ttsend
	@: # a recipe, so an up-to-date build says nothing

# Everything the suites run; says nothing when up to date.
test-bins: all $(UNIT_BINS)
	@:

# Objects of test binaries are kept (make would otherwise delete them as intermediates).
.SECONDARY:

help:
	@echo "make deps        install the Debian packages ticktap needs (idempotent)"
	@echo "make             build build/ticktap (profile-guided; PGO=0: without) and build/ttgen"
	@echo "make test        deps + build + unit, integration (tshark oracle too), live and deploy tests"
	@echo "make demo        analyse a generated trading capture end to end"
	@echo "make sanitize    the tests under ASan + UBSan"
	@echo "make image       the container image (podman; BASE=... for the base image)"
	@echo "make fuzz        each libFuzzer harness for FUZZ_SECONDS (default 30)"
	@echo "make bench       throughput against tcpdump and tshark on 5M generated packets"

deps:
	@scripts/deps.sh

# The HTML report's page, styles, script and Chart.js (Debian's libjs-chart.js), compiled in
# so that a report is one self-contained file (scripts/embed.py).
CHARTJS ?= /usr/share/javascript/chart.js/chart.min.js
REPORT_ASSETS := $(wildcard agent/report/html/*) agent/serve/ui.html
ASSETS_O := $(abspath $(BUILD)/gen/report_assets.o)
$(BUILD)/gen/report_assets.c: $(REPORT_ASSETS) $(CHARTJS) scripts/embed.py
	@mkdir -p $(dir $@)
	$(Q)scripts/embed.py $@ report_page=agent/report/html/report.html \
	  report_css=agent/report/html/report.css report_js=agent/report/html/report.js \
	  report_chartjs=$(CHARTJS) serve_page=agent/serve/ui.html
$(ASSETS_O): $(BUILD)/gen/report_assets.c
	$(Q)$(CC) -O0 -c $< -o $@

# Profile-guided optimisation (gcc, a relative BUILD; PGO=0 turns it off, e.g. while editing):
# the agent is built once instrumented, analyses generated traffic (scripts/pgo-train.sh), and
# its objects are built again with the branch counts that run left. gcc matches the counts of
# a static function by the object's name, so the instrumented objects are compiled in
# $(BUILD)/pgo under the same relative name, and every source by its absolute path. A source
# or header change retrains. Untrained code (live capture, Kafka) is optimised as without.
PGO ?= $(if $(filter /%,$(BUILD)),0,$(if $(shell $(CC) -v 2>&1 | grep -q '^gcc version' && echo y),1,0))
PGO_DIR   := $(BUILD)/pgo
PGO_STAMP := $(PGO_DIR)/trained
PGO_OBJS  := $(addprefix $(PGO_DIR)/,$(AGENT_OBJS) $(BUILD)/agent/main.o)
ifeq ($(PGO),1)
$(AGENT_OBJS) $(BUILD)/agent/main.o: $(PGO_STAMP)
# private: the instrumented objects, prerequisites of these through the stamp, must not
# inherit -fprofile-use (they would read the last training's counts and find them stale)
$(AGENT_OBJS) $(BUILD)/agent/main.o: private override CFLAGS += -fprofile-use \
	-fprofile-partial-training -Wno-missing-profile
endif

$(PGO_DIR)/$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q)cd $(PGO_DIR) && $(CC) $(CFLAGS) -fprofile-generate -fprofile-update=atomic \
	  -MT $@ -MF $(abspath $(@:.o=.d)) -c $(abspath $<) -o $(BUILD)/$*.o

$(PGO_DIR)/ticktap: $(PGO_OBJS) $(ASSETS_O)
	$(Q)cd $(PGO_DIR) && $(CC) $(CFLAGS) -fprofile-generate -o ticktap \
	  $(patsubst $(PGO_DIR)/%,%,$^) $(LDLIBS)

# The counts land beside the instrumented objects, and the final objects read them beside theirs.
$(PGO_STAMP): $(PGO_DIR)/ticktap $(BUILD)/ttgen scripts/pgo-train.sh
	$(Q)scripts/pgo-train.sh $(PGO_DIR) $(BUILD)/ttgen
	$(Q)cd $(PGO_DIR) && find $(BUILD) -name '*.gcda' -exec cp --parents {} $(CURDIR)/ \;
	$(Q)touch $@

# The XDP/TC programs: clang -target bpf, then a bpftool skeleton the agent compiles in.
# -mcpu=v3: 32-bit subregisters keep clamped lengths visible to the verifier.
BPF_CFLAGS := -O2 -g -target bpf -mcpu=v3 -Wall -Werror -I/usr/include/$(shell gcc -dumpmachine) -Ibpf
$(BUILD)/bpf/ticktap.bpf.o: bpf/ticktap.bpf.c bpf/ticktap_bpf.h
	@mkdir -p $(dir $@)
	$(Q)clang $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bpf/ticktap.skel.h: $(BUILD)/bpf/ticktap.bpf.o
	$(Q)bpftool gen skeleton $< name ticktap_bpf > $@

DPDK_OBJS := $(filter $(BUILD)/dpdk/%,$(AGENT_OBJS)) $(filter $(PGO_DIR)/$(BUILD)/dpdk/%,$(PGO_OBJS))
$(DPDK_OBJS): override CFLAGS += $(DPDK_CFLAGS)

# Only the loader includes the skeleton.
XDP_IFACE_OBJS := $(BUILD)/agent/capture/xdp_iface.o $(PGO_DIR)/$(BUILD)/agent/capture/xdp_iface.o
$(XDP_IFACE_OBJS): $(BUILD)/bpf/ticktap.skel.h
$(XDP_IFACE_OBJS): override CFLAGS += -I$(abspath $(BUILD)/bpf)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -c $(abspath $<) -o $@

# made afresh: a source renamed or removed must not leave its old object in the archive
$(BUILD)/libticktap.a: $(AGENT_OBJS) $(ASSETS_O)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/ticktap: $(BUILD)/agent/main.o $(BUILD)/libticktap.a
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/ttgen: $(GEN_SRCS:%.c=$(BUILD)/%.o)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ -lpcap

# make bench's DPDK figure: a ring port fed at full speed (tests/bench/dpdk_ring.c)
$(BUILD)/dpdk_ring: $(BUILD)/tests/bench/dpdk_ring.o $(BUILD)/libticktap.a
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lrte_net_ring
$(BUILD)/tests/bench/dpdk_ring.o: override CFLAGS += $(DPDK_CFLAGS)

$(BUILD)/ttsend: $(BUILD)/tests/live/ttsend.o
	$(Q)$(CC) $(CFLAGS) -o $@ $^ -lpcap

$(BUILD)/tests/test_%: $(BUILD)/tests/unit/test_%.o $(BUILD)/tests/gen/pcapw.o $(BUILD)/libticktap.a
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lcmocka -lm

# One suite each; `make test` runs all three to their end and reports every failing one.
unit: $(UNIT_BINS)
	@BUILD=$(BUILD) tests/run_suites.sh unit

integration: $(BUILD)/ticktap $(BUILD)/ttgen
	@BUILD=$(BUILD) tests/run_suites.sh integration

# Live capture on veth pairs in network namespaces the test creates (root; skipped otherwise).
live: $(BUILD)/ticktap $(BUILD)/ttgen $(BUILD)/ttsend
	@BUILD=$(BUILD) tests/run_suites.sh live

# The Helm chart, the systemd units and the container image (helm from npm, podman).
deploy: $(BUILD)/ticktap $(BUILD)/ttgen
	@BUILD=$(BUILD) tests/run_suites.sh deploy

# The container image (Dockerfile). BASE=localhost/bookworm-minbase builds from a base made
# by mmdebstrap, without a registry (tests/deploy/image.sh makes one).
IMAGE ?= localhost/ticktap:$(shell sed -n 's/^appVersion: "\(.*\)"/\1/p' helm/ticktap/Chart.yaml)
BASE ?= docker.io/library/debian:bookworm-slim
image: deps
	CONTAINERS_CONF=$(CURDIR)/tests/deploy/containers.conf podman build \
		--build-arg BASE=$(BASE) -t $(IMAGE) -f Dockerfile .

test: deps
	@echo "== build $(BUILD)/ticktap, test binaries$(if $(filter 1,$(PGO)), (profile-guided: built twice; PGO=0 to skip))$(if $(Q),; V=1 shows the compiler)"
	@$(MAKE) --no-print-directory test-bins
	@BUILD=$(BUILD) tests/run_suites.sh unit integration live deploy

demo: deps
	@echo "== build $(BUILD)/ticktap$(if $(filter 1,$(PGO)), (profile-guided: built twice; PGO=0 to skip))$(if $(Q),; V=1 shows the compiler)"
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) scripts/demo.sh

SAN_FLAGS := BUILD=build-san CC=clang PGO=0 \
	CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
sanitize: deps
	@echo "== build build-san (clang, ASan + UBSan)"
	@$(MAKE) --no-print-directory $(SAN_FLAGS) test-bins
	@BUILD=build-san tests/run_suites.sh unit integration live

FUZZ_SECONDS ?= 30
fuzz: deps
	@BUILD=build-fuzz FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh

bench: deps
	@$(MAKE) --no-print-directory all $(BUILD)/dpdk_ring
	@BUILD=$(BUILD) tests/bench/run.sh

format:
	clang-format -i $$(find agent tests -name '*.[ch]')

clean:
	rm -rf build build-san build-fuzz

# The libraries a program linked with libticktap.a needs (tests/fuzz/run.sh links its harnesses).
print-ldlibs:
	@echo $(LDLIBS)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
