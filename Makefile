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

REGIONS := $(sort $(basename $(notdir $(wildcard data/regions/*.yml))))
I := data/interim/$(REGION)
O := outputs/$(REGION)
C := $(I)/config
S := pipeline/stages
GPKG := $(O)/heat_links.gpkg

# Goals that need a valid REGION and the region's input variables.
REGION_GOALS := all clean $(GPKG) $(O)/report.html
ifneq ($(filter $(REGION_GOALS) data/% outputs/%,$(MAKECMDGOALS)),)
ifeq ($(filter $(REGION),$(REGIONS)),)
$(error Unknown REGION '$(REGION)'. Known regions: $(REGIONS). To run your own, add data/regions/$(REGION).yml or use `heatlink all --config FILE`)
endif
endif
ifneq ($(filter-out clean,$(filter $(REGION_GOALS) data/% outputs/%,$(MAKECMDGOALS))),)
include $(I)/inputs.mk
endif

.PHONY: help all test lint clean bench

help: ## list the targets and regions (default)
	@echo "heatlink: route data-centre waste heat to heat networks along roads."
	@echo
	@echo "Usage: make <target> [REGION=<region>]"
	@echo
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'
	@echo
	@echo "Regions (data/regions/*.yml): $(REGIONS)   [default: $(REGION)]"

REPORT := $(O)/report.html

all: $(REPORT) ## run every stage for REGION and print the paths of its outputs
	@echo "GeoPackage: $(GPKG)"
	@echo "Report:     $(REPORT)"
	@echo "Links CSV:  $(O)/links.csv"

test: $(VENV_OK) ## install if needed and run the whole test suite
	$(PY) -m ruff check pipeline tests
	$(PY) -m pytest

lint: $(VENV_OK) ## ruff check and format check
	$(PY) -m ruff check pipeline tests
	$(PY) -m ruff format --check pipeline tests

bench: $(VENV_OK) ## time the pipeline on synthetic regions of 10k, 100k and 1M edges against an osmnx baseline
	$(PY) benchmarks/bench.py

clean: ## remove REGION's generated files (data/interim/REGION, outputs/REGION)
	rm -rf $(I) $(O)

$(VENV_OK): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# Region inputs and per-section config; remade when the region file changes.
$(I)/inputs.mk: data/regions/$(REGION).yml pipeline/config.py | $(VENV_OK)
	$(HEATLINK) configure --region $(REGION)
$(C)/%.json: | $(I)/inputs.mk ;

# Inputs of the shipped regions, made here (data/raw is never written by a stage).
data/raw/synthetic/roads.gpkg data/raw/synthetic/heat_demand.tif data/raw/synthetic/sites.csv &: pipeline/datasets/synthetic.py | $(VENV_OK)
	$(PY) -m pipeline.datasets.synthetic --out data/raw/synthetic --size small
data/raw/helsinki/helsinki.osm.pbf data/raw/helsinki/heat_demand_mwh_per_ha.tif &: pipeline/datasets/helsinki.py pipeline/engineering/buildings.py | $(VENV_OK)
	$(PY) -m pipeline.datasets.helsinki --out data/raw/helsinki

# The stages.
$(I)/sources.parquet: $(SOURCES_IN) $(C)/region.json $(C)/sources.json $(S)/ingest_sources.py
	$(HEATLINK) ingest_sources --region $(REGION)
$(I)/roads.parquet: $(ROADS_IN) $(C)/region.json $(C)/roads.json $(S)/ingest_roads.py
	$(HEATLINK) ingest_roads --region $(REGION)
$(I)/heat_demand_mwh_per_cell.tif: $(HEAT_IN) $(C)/region.json $(C)/heat_demand.json $(S)/ingest_heat_demand.py
	$(HEATLINK) ingest_heat_demand --region $(REGION)
$(I)/demand_zones.parquet: $(I)/heat_demand_mwh_per_cell.tif $(C)/zones.json $(S)/build_demand_zones.py
	$(HEATLINK) build_demand_zones --region $(REGION)
$(I)/heat_networks.parquet: $(NETWORKS_IN) $(C)/region.json $(C)/existing_networks.json $(S)/ingest_heat_networks.py
	$(HEATLINK) ingest_heat_networks --region $(REGION)
$(I)/graph_nodes.parquet $(I)/graph_edges.parquet &: $(I)/roads.parquet $(S)/build_road_graph.py
	$(HEATLINK) build_road_graph --region $(REGION)
$(I)/routes.parquet $(I)/attachments.parquet $(I)/route_segments.parquet &: $(I)/sources.parquet $(I)/demand_zones.parquet $(I)/graph_nodes.parquet $(I)/graph_edges.parquet $(I)/heat_networks.parquet $(C)/routing.json $(S)/route_links.py
	$(HEATLINK) route_links --region $(REGION)
$(I)/assessed_links.parquet: $(I)/routes.parquet $(I)/sources.parquet $(I)/demand_zones.parquet $(C)/network.json $(C)/pipes.json $(C)/heat_pump.json $(C)/carbon.json $(C)/cost.json $(C)/viability.json $(C)/existing_networks.json $(S)/assess_links.py $(wildcard pipeline/engineering/*.py) $(wildcard pipeline/data/*.csv)
	$(HEATLINK) assess_links --region $(REGION)
$(I)/allocation.parquet: $(I)/assessed_links.parquet $(I)/sources.parquet $(I)/demand_zones.parquet $(I)/heat_networks.parquet $(C)/zones.json $(C)/existing_networks.json $(S)/allocate_heat.py
	$(HEATLINK) allocate_heat --region $(REGION)
$(GPKG): $(I)/allocation.parquet $(I)/sources.parquet $(I)/attachments.parquet $(I)/route_segments.parquet $(I)/heat_networks.parquet $(I)/demand_zones.parquet $(I)/assessed_links.parquet $(C)/cost.json $(C)/routing.json $(C)/existing_networks.json $(C)/zones.json $(S)/export_geopackage.py $(wildcard pipeline/data/styles/*.qml) pipeline/data/fields.csv
	$(HEATLINK) export_geopackage --region $(REGION) > /dev/null
$(REPORT): $(GPKG) $(I)/roads.parquet data/regions/$(REGION).yml $(S)/write_report.py
	$(HEATLINK) write_report --region $(REGION)
