# mailprivacy.gdpr: developer and CI entry points.
#   make demo   - bring up the container lab, seed it, show drift, apply, show compliance
#   make test   - install what is missing, then unit tests, ansible-lint, ansible-test sanity,
#                 and `molecule test` for every role (what .ci/run calls)
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        ?= $(CURDIR)/.venv
PYTHON      ?= python3
export PATH := $(VENV)/bin:$(PATH)
export CONTAINERS_CONF ?= $(CURDIR)/lab/containers.conf
export MAILPRIVACY_IMAGE ?= localhost/mailprivacy/bookworm-systemd:latest
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.build/collections
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PY_COLORS ?= $(if $(CI),0,1)
export ANSIBLE_FORCE_COLOR ?= $(if $(CI),0,1)

# systemd-journal-remote: the unit tests of the journal erasure make and rewrite real journal files
# dovecot-core: a unit test runs the Dovecot store against the real doveadm (a private instance, no protocols)
# php-cli: the unit tests check the PHP reader (php_conf) and the horde_conf writer against PHP itself (real_php)
SYSTEM_PACKAGES := podman runc debootstrap uidmap slirp4netns fuse-overlayfs shellcheck git rsync systemd-journal-remote dovecot-core php-cli
SCENARIOS ?= $(sort $(notdir $(patsubst %/molecule.yml,%,$(wildcard extensions/molecule/*/molecule.yml))))

.PHONY: help deps system-deps venv image collection-link test unit lint sanity molecule demo lab-up lab-seed lab-down e2e lab-e2e bench fleet-bench role-docs store-docs clean

help:
	@echo "make demo      run the main job against the local container lab"
	@echo "make test      run every test (unit, lint, sanity, molecule: $(SCENARIOS))"
	@echo "make lab-down  remove the lab containers"
	@echo "make role-docs regenerate the roles' README variable tables from meta/argument_specs.yml"
	@echo "make store-docs regenerate the store options of the subject modules' docs from the stores' OPTIONS"

## --- installation -------------------------------------------------------------------
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(VENV)/.installed: requirements-dev.txt constraints-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints-dev.txt
	touch $@

venv: $(VENV)/.installed

image: system-deps
	lab/build-image.sh

collection-link:
	@mkdir -p .build/collections/ansible_collections/mailprivacy
	@ln -sfn ../../../.. .build/collections/ansible_collections/mailprivacy/gdpr
	@# podman refuses to bind-mount a missing directory: create every apt cache a scenario mounts
	@for d in $$(grep -ho '\.cache/apt/[^:]*' extensions/molecule/*/molecule.yml | sort -u); do mkdir -p "$$d/partial"; done

deps: system-deps venv image collection-link

## --- tests --------------------------------------------------------------------------
test: deps
	tests/run-all.sh $(SCENARIOS)

unit: venv collection-link
	pytest tests/unit

lint: venv collection-link
	ansible-lint

# The variable tables of roles/*/README.md, generated from each role's meta/argument_specs.yml
# (tests/unit/tools/test_role_docs.py fails when they differ: `python tools/role_docs.py --check`).
role-docs: venv
	python tools/role_docs.py

# The store options of plugins/doc_fragments/subject.py, generated from each store's OPTIONS
# (tests/unit/tools/test_store_docs.py fails when they differ: `python tools/store_docs.py --check`).
store-docs: venv collection-link
	python tools/store_docs.py

sanity: venv system-deps
	tests/sanity/run-sanity.sh

molecule: deps
	@for s in $(SCENARIOS); do molecule test -s $$s || exit 1; done

## --- the main job: a local lab --------------------------------------------------------
demo: deps
	lab/demo.sh

lab-up: deps
	ansible-playbook lab/up.yml

lab-seed:
	ansible-playbook lab/seed.yml

lab-down:
	ansible-playbook lab/down.yml

e2e: venv collection-link
	pytest tests/e2e tests/reliability

lab-e2e: deps
	tests/lab-e2e.sh

bench: venv collection-link
	python benchmarks/scan_logs.py
	python benchmarks/redact_logs.py

fleet-bench: deps
	python benchmarks/fleet_scale.py

clean: lab-down
	rm -rf .build tests/output reports
