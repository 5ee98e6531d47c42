# pnpkit's contract targets. CMake does the building; this file picks the build folder and
# installs what a fresh Debian 12 machine lacks (scripts/deps.sh).
#
#   make run                      the main job (examples/mainjob), then the in-process demonstrations
#   make test                     build and run every test
#   make test SANITIZE=address,undefined   (or SANITIZE=thread) the same under sanitizers
#   make bench                    build optimised and print each benchmark's ratio to its baseline
#   make install PREFIX=/usr/local
#   make clean

SANITIZE ?=
PREFIX   ?= /usr/local
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
CC       ?= cc

ifeq ($(SANITIZE),)
  BUILD_DIR ?= build/default
  BUILD_TYPE ?= RelWithDebInfo
else
  BUILD_DIR ?= build/san-$(subst $(comma),-,$(SANITIZE))
  BUILD_TYPE ?= Debug
endif
comma := ,
BENCH_DIR := build/bench

CMAKE_FLAGS = -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DPNPKIT_SANITIZE=$(SANITIZE) \
              -DCMAKE_INSTALL_PREFIX=$(PREFIX) -DCMAKE_C_COMPILER=$(CC) $(EXTRA_CMAKE_FLAGS)

.PHONY: all build run test bench install deps clean help

all: build

deps:
	@sh scripts/deps.sh

$(BUILD_DIR)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS) >/dev/null

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	./$(BUILD_DIR)/examples/mainjob
	@echo
	./$(BUILD_DIR)/examples/pnpkit_demo
	@echo
	./$(BUILD_DIR)/examples/pnp_demo
	@echo
	./$(BUILD_DIR)/examples/wdf_stack
	@echo
	./$(BUILD_DIR)/examples/dmf_sensors
	@echo
	./$(BUILD_DIR)/examples/nmr_modules
	./$(BUILD_DIR)/examples/umdf1_client

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) $(CTEST_FLAGS)

bench: deps
	cmake -S . -B $(BENCH_DIR) -DCMAKE_BUILD_TYPE=Release -DPNPKIT_BUILD_TESTS=OFF >/dev/null
	cmake --build $(BENCH_DIR) -j $(JOBS)
	@for b in $(BENCH_DIR)/bench/bench_*; do [ -x "$$b" ] || continue; echo "== $$(basename $$b)"; $$b || exit 1; done

install: build
	cmake --install $(BUILD_DIR) --prefix $(PREFIX)

clean:
	rm -rf build

help:
	@sed -n '1,12p' Makefile
