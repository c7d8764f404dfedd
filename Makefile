# baton.docker — zero-downtime Docker deployments with Ansible.
#   make demo   set everything up, roll the demo app v1 -> v2 behind HAProxy under live traffic
#   make test   set everything up and run the whole test suite
#   make docs   the documentation site (build/docs/html/index.html)
#   make bench  rollout, stack and fleet benchmarks (write bench/results/rollout.json, fleet.json and fleet.png)

SHELL := /bin/bash
VENV ?= $(CURDIR)/.venv
PY := $(VENV)/bin/python
export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/build/collections
export ANSIBLE_HOME := $(CURDIR)/build/ansible-home
export ANSIBLE_LOCAL_TEMP := $(CURDIR)/build/ansible-tmp
PYTEST_ARGS ?=
# pytest-xdist workers for the integration, fault and fuzz suites (0: in the pytest process itself)
PYTEST_WORKERS ?= 3
export PYTEST_WORKERS
XDIST = -n $(PYTEST_WORKERS) --dist loadfile

.PHONY: all bootstrap images ee demo demo-clean test unit integration faults molecule sanity lint collection galaxy docs bench clean

all: test

bootstrap:
	@bash scripts/stage.sh bootstrap bash scripts/bootstrap.sh

images: bootstrap
	@bash scripts/stage.sh images bash scripts/build_images.sh

ee: images
	@bash scripts/stage.sh ee bash scripts/build_ee.sh

demo: images
	@$(PY) scripts/demo.py

demo-clean: bootstrap
	@$(PY) scripts/demo.py --clean

unit: bootstrap
	$(PY) -m pytest -q tests/unit $(PYTEST_ARGS)

integration: images
	$(PY) -m pytest -q $(XDIST) tests/integration $(PYTEST_ARGS)

faults: images
	$(PY) -m pytest -q $(XDIST) tests/faults $(PYTEST_ARGS)

molecule: images
	@bash scripts/molecule.sh

sanity: bootstrap
	@bash scripts/sanity.sh

lint: bootstrap
	@bash scripts/lint.sh

collection: bootstrap
	@bash scripts/build_collection.sh

# The documentation site: every module, role and filter, and the guides (build/docs/html/index.html)
docs: bootstrap
	@bash scripts/stage.sh docs bash scripts/build_docs.sh

# Galaxy's importer on the tarball `make collection` built, as Galaxy runs it on an upload
galaxy: collection
	@bash scripts/stage.sh galaxy bash scripts/galaxy_import.sh

# The images, collection and execution environment builds are mostly one process at a time (debootstrap's shell
# and perl, dpkg, pip in the EE build), so one of the two cores idles: sanity and lint, which need neither the engine
# nor the images nor build/dist, run meanwhile (scripts/overlap.sh prints their output after the builds').
test: bootstrap
	@bash scripts/overlap.sh 'images=bash scripts/build_images.sh' 'collection=bash scripts/build_collection.sh' \
	  'galaxy=bash scripts/galaxy_import.sh' 'ee=bash scripts/build_ee.sh' -- 'sanity=bash scripts/sanity.sh' \
	  'lint=bash scripts/lint.sh'
	@VENV=$(VENV) bash scripts/stage.sh pytest bash scripts/pytest.sh $(PYTEST_ARGS)
	@bash scripts/stage.sh molecule bash scripts/molecule.sh

bench: images
	@$(PY) bench/rollout.py
	@$(PY) bench/stack.py
	@$(PY) bench/fleet.py

clean:
	rm -rf build tests/output .pytest_cache
