# The two commands of the README, and a few conveniences.
#   make demo   install what is missing, build, run the main job on embedded defaults
#   make test   install what is missing, build, run every test (release, sanitizers, fuzz, constant time)

BUILD_DIR ?= build/release
JOBS ?= $(shell nproc)

.PHONY: all deps build demo test bench format tidy clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@ninja -C $(BUILD_DIR) -j $(JOBS)

demo: build
	@$(BUILD_DIR)/apps/custos/custos demo --devices 1000

test: deps
	@bash scripts/test-all.sh

# Full Google Benchmark runs (not part of CI).
bench: build
	@$(BUILD_DIR)/apps/custos/custos crypto bench
	@$(BUILD_DIR)/bench/algorithms_benchmark

format:
	@git ls-files '*.cpp' '*.h' | xargs clang-format -i

tidy: build
	@git ls-files 'custos/*.cpp' 'apps/*.cpp' | xargs -n 8 clang-tidy -p $(BUILD_DIR) --quiet --extra-arg=-Wno-unknown-warning-option

clean:
	rm -rf build
