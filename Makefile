# Convenience front end to CMake; the two quick-start commands of the README.
#   make demo    install what is missing, build, run `shmkit demo`
#   make check   install what is missing, build, run every test
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
# The build's own makefiles run under this one: without this, each of
# them says which directory it enters and leaves, hundreds of lines.
MAKEFLAGS += --no-print-directory

.PHONY: all deps build demo check install clean

all: build

deps:
	@scripts/install-deps

build: deps
	cmake -S . -B $(BUILD) -DSHMKIT_WERROR=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j$(JOBS)

demo: build
	$(BUILD)/tools/shmkit/shmkit demo

check: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD)
