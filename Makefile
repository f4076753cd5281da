# heatlink: `make all REGION=<name>` builds outputs/<name>/heat_links.gpkg.
# Each stage is a file target; its prerequisites are its input files, the config
# sections it reads (written by `heatlink configure` only when they change) and its module.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.SUFFIXES:
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

REGION ?= helsinki
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VENV_OK := $(VENV)/.installed
HEATLINK := $(PY) -m pipeline
# Where the stages that can distribute their work run it (an option of the run, not of
# the region: the outputs are the same): EXECUTOR=local (default) or dask; with dask,
# DASK_SCHEDULER=tcp://host:8786 uses a running cluster, empty starts a LocalCluster.
EXECUTOR ?= local
DASK_SCHEDULER ?=
export HEATLINK_EXECUTOR := $(EXECUTOR)
export HEATLINK_DASK_SCHEDULER := $(DASK_SCHEDULER)

REGIONS := $(sort $(basename $(notdir $(wildcard data/regions/*.yml))))
I := data/interim/$(REGION)
O := outputs/$(REGION)
C := $(I)/config
S := pipeline/stages
GPKG := $(O)/heat_links.gpkg

STAGES_MK := $(I)/stages.mk

# Goals that need a valid REGION and the region's rules.
REGION_GOALS := all clean $(GPKG) $(O)/report.html $(O)/heat_links.qgz
ifneq ($(filter $(REGION_GOALS) data/% outputs/%,$(MAKECMDGOALS)),)
ifeq ($(filter $(REGION),$(REGIONS)),)
$(error Unknown REGION '$(REGION)'. Known regions: $(REGIONS). To run your own, add data/regions/$(REGION).yml or use `heatlink all --config FILE`)
endif
endif
ifneq ($(filter-out clean,$(filter $(REGION_GOALS) data/% outputs/%,$(MAKECMDGOALS))),)
include $(STAGES_MK)
endif

.PHONY: help all test lint clean bench bench-national mutate fresh-run

help: ## list the targets and regions (default)
	@echo "heatlink: route data-centre waste heat to heat networks along roads."
	@echo
	@echo "Usage: make <target> [REGION=<region>] [EXECUTOR=local|dask] [DASK_SCHEDULER=tcp://host:8786]"
	@echo
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'
	@echo
	@echo "Regions (data/regions/*.yml): $(REGIONS)   [default: $(REGION)]"

REPORT := $(O)/report.html

# A region with no stage output yet runs every stage. It runs them in one process
# (`heatlink all`), so that Python and its packages start once, not once per stage;
# then every output is newer than its prerequisites and make runs nothing more. Later
# runs go through the stage rules and rerun only what changed.
FRESH_RUN := $(if $(wildcard $(I)/sources.parquet),,fresh-run)

all: $(FRESH_RUN) $(REPORT) $(O)/heat_links.qgz ## run every stage for REGION and print the paths of its outputs
	@echo "GeoPackage: $(GPKG)"
	@echo "QGIS:       $(O)/heat_links.qgz"
	@echo "Report:     $(REPORT)"
	@echo "Links CSV:  $(O)/links.csv"
	@echo "Networks:   $(O)/networks.csv"

fresh-run: $(STAGES_MK) $(INPUT_LINKS)
	$(HEATLINK) all --region $(REGION)

test: $(VENV_OK) ## install if needed and run the whole test suite
	$(PY) -m ruff check pipeline tests
	$(PY) -m pytest

lint: $(VENV_OK) ## ruff check and format check
	$(PY) -m ruff check pipeline tests
	$(PY) -m ruff format --check pipeline tests

bench: $(VENV_OK) ## time the pipeline on synthetic regions of 10k, 100k and 1M edges against an osmnx baseline
	$(PY) benchmarks/bench.py

bench-national: $(VENV_OK) ## run a region of Great Britain's order (8M edges, 2,000 sites) with EXECUTOR=dask
	$(PY) benchmarks/national.py $(if $(DASK_SCHEDULER),--scheduler $(DASK_SCHEDULER))

# Mutation testing (issue 9), not in CI: mutmut mutates the files named in [tool.mutmut] in
# pyproject.toml, runs the unit tests and doctests against each mutant selected by MUTANTS
# (globs over mutant names), and prints killed / total by module and what survived. Each run
# starts afresh. The default selection is whole modules, so that it follows refactoring: the
# three stages (their run() wrappers show as "no tests") and the engineering modules that
# decide (heat pump COP and its cap, viability rules): about 2800 mutants, 2 to 3 hours on 2
# cores. One module is quicker (MUTANTS='pipeline.stages.allocate_heat.*': 13 minutes);
# MUTANTS='*' takes every mutant of [tool.mutmut] (about 4200).
MUTANTS ?= pipeline.stages.allocate_heat.* pipeline.stages.route_links.* pipeline.stages.assess_links.* \
  pipeline.engineering.heat_pump.* pipeline.engineering.viability.*
define MUTATE_SUMMARY
{ sub(/^ +/, ""); i = index($$0, ": "); name = substr($$0, 1, i - 1); st = substr($$0, i + 2)
  if (st == "not checked") { unchecked++; next }
  mod = name; sub(/\.x(_|ǁ).*$$/, "", mod)
  if (!(mod in total)) order[++nmod] = mod
  total[mod]++; n[mod, st]++; all[st]++; grand++
  if (st != "killed") left[mod] = left[mod] sprintf("    %-10s %s\n", st, name) }
function row(m, k, s, nt, t, q, tot) {
  printf "%-34s %6d %8d %8d %7d %10d %5d %6d %6.1f%% %6.1f%%\n", m, k, s, nt, t, q, tot - k - s - nt - t - q, tot,
    100 * k / tot, (tot > nt ? 100 * k / (tot - nt) : 0) }
END {
  if (!grand) { print "no results: run `make mutate` first"; exit 1 }
  print "Not killed, by module (see one with: .venv/bin/mutmut show NAME):"
  for (j = 1; j <= nmod; j++) if (order[j] in left) printf "  %s\n%s", order[j], left[order[j]]
  printf "\n%-34s %6s %8s %8s %7s %10s %5s %6s %7s %7s\n", "module", "killed", "survived", "no tests", "timeout",
    "suspicious", "other", "total", "score", "tested"
  for (j = 1; j <= nmod; j++) { m = order[j]; row(m, n[m, "killed"], n[m, "survived"], n[m, "no tests"], n[m, "timeout"], n[m, "suspicious"], total[m]) }
  row("all", all["killed"], all["survived"], all["no tests"], all["timeout"], all["suspicious"], grand)
  print "score = killed / total; tested = killed / (total - no tests)"
  if (unchecked) printf "%d mutants not checked (outside MUTANTS, or the run was stopped)\n", unchecked }
endef
export MUTATE_SUMMARY

mutate: $(VENV_OK) ## mutation-test the stages' decision points and engineering/; prints killed/total (slow)
	$(PY) -m pip install --quiet 'mutmut>=3.8,<4'
	rm -rf mutants
	$(VENV)/bin/mutmut run $(foreach m,$(MUTANTS),'$(m)')
	@$(VENV)/bin/mutmut results --all true | awk "$$MUTATE_SUMMARY"

clean: ## remove REGION's generated files (data/interim/REGION, outputs/REGION)
	rm -rf $(I) $(O)

$(VENV_OK): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# The region's stage rules, input links and per-section config, written by `heatlink
# configure` from the stage declarations in pipeline/stages/__init__.py; remade when the
# region file or the declarations change. The shipped regions' inputs are made first.
RAW_synthetic := data/raw/synthetic/roads.gpkg data/raw/synthetic/heat_demand.tif data/raw/synthetic/sites.csv
RAW_helsinki := data/raw/helsinki/helsinki.osm.pbf data/raw/helsinki/heat_demand_mwh_per_ha.tif
$(STAGES_MK): data/regions/$(REGION).yml pipeline/config.py pipeline/stages/__init__.py pipeline/cli.py | $(VENV_OK) $(RAW_$(REGION))
	$(HEATLINK) configure --region $(REGION)
$(C)/%.json: | $(STAGES_MK) ;

# An input link whose file is gone: say which config key names it.
$(I)/inputs/%:
	@echo "heatlink: error: $$(realpath -m --relative-to=. '$@'): input file not found (set by '$*'). Check '$*' in data/regions/$(REGION).yml; relative paths start at the project root." >&2
	@exit 2

# Inputs of the shipped regions, made here (data/raw is never written by a stage).
$(RAW_synthetic) &: pipeline/datasets/synthetic.py | $(VENV_OK)
	$(PY) -m pipeline.datasets.synthetic --out data/raw/synthetic --size small
$(RAW_helsinki) &: pipeline/datasets/helsinki.py pipeline/engineering/buildings.py | $(VENV_OK)
	$(PY) -m pipeline.datasets.helsinki --out data/raw/helsinki

# The stages' rules are in $(STAGES_MK).
