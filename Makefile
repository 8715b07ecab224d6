# irpipe: two commands on a fresh Debian 12 machine (as root):
#   make demo   install everything, then run a small extraction end to end
#   make test   install everything, then run the default test suite
# Re-running either is fast: each install step checks what is already there.

SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
PIP   := $(VENV)/bin/pip
DEMO_OUT ?= out/demo
APT_PKGS := clang-22 llvm-22 llvm-22-dev llvm-22-tools lld-22 mlir-22-tools libclang-rt-22-dev \
            rustc-web cargo-web build-essential ca-certificates xz-utils dpkg-dev fakeroot debhelper \
            autoconf automake libtool \
            pkg-config cmake meson ninja-build util-linux valgrind python3-venv python3-dev
STAMP := $(VENV)/.irpipe-installed
NATIVE_LIB := passes/build/lib/libIRPipeAnalysis.so
PLUGIN_LIB := passes/build/lib/libIRPipe.so
NATIVE_SRC := passes/CMakeLists.txt $(wildcard passes/lib/*.cpp passes/include/irpipe/*.h)

.PHONY: all setup apt venv native demo test test-slow corpus bench bench-analysis bench-eval bench-model bench-native mlir-data train-mlir-cost train-default clean

all: setup

setup: apt native venv

apt:
	@if dpkg-query -W -f='$${Status}\n' $(APT_PKGS) 2>/dev/null | grep -vq "install ok installed" \
	    || [ "$$(dpkg-query -W -f='$${Status}\n' $(APT_PKGS) 2>/dev/null | wc -l)" -ne "$(words $(APT_PKGS))" ]; then \
	  echo "apt: installing LLVM 22 and build tools"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(APT_PKGS); \
	else echo "apt: LLVM 22 and build tools present"; fi

# The native analysis library (LLVM 22 C++ API, loaded by irpipe.llvm.native) and the pass plugin.
native: $(NATIVE_LIB) $(PLUGIN_LIB)

$(NATIVE_LIB) $(PLUGIN_LIB) &: $(NATIVE_SRC) | apt
	cmake -S passes -B passes/build -G Ninja -DCMAKE_BUILD_TYPE=Release \
	  -DCMAKE_CXX_COMPILER=clang++-22 -DLLVM_DIR=/usr/lib/llvm-22/lib/cmake/llvm > /dev/null
	cmake --build passes/build
	touch $(NATIVE_LIB) $(PLUGIN_LIB)   # ninja leaves an up-to-date library alone

venv: $(STAMP)

# the native library first: the last step, `irpipe env`, checks it
$(STAMP): requirements.lock constraints.txt pyproject.toml setup.py MANIFEST.in | $(NATIVE_LIB)
	@test -x $(PY) || python3 -m venv $(VENV)
	# Debian 12's venv brings setuptools 66; pyproject's SPDX `license` and the wheel build need >= 77
	$(PIP) install -q --upgrade "pip<26" "setuptools>=77"
	# torch first, from its CPU wheel; the constraints file keeps it pinned afterwards
	$(PIP) install -q -c constraints.txt torch==2.13.0
	$(PIP) install -q -c constraints.txt -r requirements.lock
	$(PIP) install -q --no-deps --no-build-isolation -e .
	# bytecode now, as pip writes it for an installed package: where PYTHONDONTWRITEBYTECODE is set,
	# every irpipe process would otherwise compile each module it imports (cold optimize: 1.60 -> 1.49 s)
	$(PY) -m compileall -q -j 0 irpipe
	$(VENV)/bin/irpipe env
	touch $(STAMP)

DEMO_RECIPES := extractors/local/tinyc.toml extractors/debian/zlib.toml extractors/pypi/markupsafe.toml \
                extractors/crates/memchr.toml extractors/numba/resampy.toml

demo: setup
	$(VENV)/bin/irpipe extract --recipes $(DEMO_RECIPES) --out $(DEMO_OUT) --num-cpus 2
	$(VENV)/bin/irpipe info $(DEMO_OUT)
	$(VENV)/bin/irpipe featurize --dataset $(DEMO_OUT) --out $(DEMO_OUT)-features --num-cpus 2
	# the models step on the committed sample: train models/tiny (15 s here), evaluate it on the test split
	OMP_NUM_THREADS=1 $(VENV)/bin/irpipe train --config models/tiny/config.toml --out $(DEMO_OUT)-model --no-progress
	$(VENV)/bin/irpipe evaluate --model $(DEMO_OUT)-model --model models/default --dataset datasets/default/sample \
		--measurements datasets/default/measurements --baselines "" --no-progress

test: setup
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/lit -q tests/lit passes/test
	RAY_AUTH_MODE=disabled $(VENV)/bin/pytest -q tests

# the slow suite also needs Csmith (random programs for the miscompile net; ~1.5 MB installed)
SLOW_APT_PKGS := csmith libcsmith-dev

test-slow: setup
	@if [ "$$(dpkg-query -W -f='$${Status}\n' $(SLOW_APT_PKGS) 2>/dev/null | grep -c 'install ok installed')" -ne "$(words $(SLOW_APT_PKGS))" ]; then \
	  echo "apt: installing $(SLOW_APT_PKGS)"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(SLOW_APT_PKGS); fi
	RAY_AUTH_MODE=disabled $(VENV)/bin/pytest -q -m slow tests

corpus: setup
	# --keep-going: some pinned Debian versions are no longer fetchable (datasets/default/README.md)
	$(VENV)/bin/irpipe extract --recipes extractors/debian extractors/pypi extractors/crates extractors/numba --out out/corpus --num-cpus 2 --keep-going

bench: setup
	$(PY) benchmarks/extract_bench.py

DATASET ?= datasets/default/sample
bench-analysis: setup
	$(PY) benchmarks/analysis_bench.py --dataset $(DATASET)

bench-eval: setup
	$(PY) benchmarks/eval_bench.py --dataset $(DATASET)

bench-model: setup
	$(PY) benchmarks/model_bench.py --dataset $(DATASET)

# native programs (benchmarks/suite): -O3 vs -O2, the default model and search, one interleaved run
bench-native: setup
	$(VENV)/bin/irpipe bench --suite benchmarks/suite --candidate pipeline 'default<O2>' \
	  --candidate optimize --candidate search --rounds 5 --out out/bench-native

# MLIR: lower the JAX recipes through every IREE phase, run the source modules natively under each
# config, train the MLIR cost model (see models/mlir-cost/README.md)
mlir-data: setup
	$(VENV)/bin/irpipe extract --recipes extractors/jax --out datasets/mlir --num-cpus 2
	$(VENV)/bin/irpipe measure-mlir --dataset datasets/mlir --out datasets/mlir-runs

train-mlir-cost: setup
	OMP_NUM_THREADS=1 $(VENV)/bin/irpipe train-mlir-cost --config models/mlir-cost/config.toml --out models/mlir-cost

# the default model, end to end from the committed sample (see models/default/README.md)
train-default: setup
	OMP_NUM_THREADS=1 $(VENV)/bin/irpipe train --config models/default/config.toml --out models/default
	OMP_NUM_THREADS=1 $(VENV)/bin/irpipe train --config models/default-transformer/config.toml --out models/default-transformer

clean:
	rm -rf out $(VENV) passes/build
