# The two commands of the README: `make demo` and `make test`. Each installs what is missing
# (libtorch and the Python references via apt when run as root, npm packages), builds the addon
# and the TypeScript, then runs. Safe to run again: finished steps are skipped.
SHELL := /bin/bash
NPM_STAMP := node_modules/.package-lock.json
ADDON := native/build/Release/mmgap_native.node
IMAGE_ADDON := native/image/build/Release/mmgap_image.node
APT_PACKAGES := libtorch-dev python3-torch python3-sklearn python3-scipy python3-torchaudio python3-torchvision \
                libopenblas0-pthread chromium ffmpeg libgloo-dev libturbojpeg0-dev libpng-dev

.PHONY: demo test deps deps-system build clean

demo: build
	node dist/src/cli/main.js demo

test: build
	npx eslint .
	npx tsc -p tsconfig.json
	node dist/scripts/gen-ops.js --check
	npx vitest run

deps: $(NPM_STAMP) deps-system

# System packages: libtorch for the engine, Debian's PyTorch/scikit-learn/SciPy as the references
# the tests compare against, Chromium for the report test, ffmpeg for `mmgap data extract`,
# libgloo-dev for the headers of c10d's Gloo process group (distributed training), libjpeg-turbo
# and libpng for the image addon (frame decoding).
deps-system:
	@pkgs="$(APT_PACKAGES)"; [ -z "$$LIBTORCH" ] || pkgs="$${pkgs/libtorch-dev/}"; \
	missing=$$(for p in $$pkgs; do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	missing=$$(echo $$missing); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "mmgap: installing $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else \
	  echo "mmgap: missing packages: $$missing"; \
	  echo "Fix: sudo apt-get install -y $$missing   (or set LIBTORCH to a LibTorch / pip torch directory for the engine)"; \
	  exit 1; \
	fi

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

$(ADDON): $(wildcard native/src/*) native/binding.gyp native/libtorch.cjs | deps
	cd native && npx node-gyp rebuild

# The image addon (native/image) has its own build folder: it needs no libtorch and builds in seconds.
$(IMAGE_ADDON): native/image/image.cc native/image/binding.gyp | deps
	cd native/image && npx node-gyp rebuild

build: deps $(ADDON) $(IMAGE_ADDON)
	npx tsc -p tsconfig.build.json

clean:
	rm -rf dist native/build native/image/build
