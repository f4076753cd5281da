"""heatlink: route data-centre waste heat to heat networks along real roads."""

__version__ = "0.1.0"
