"""Pure engineering formulas: water properties, hydraulics, heat loss and heat sources.

No I/O and no geometry. Every function takes floats or numpy arrays (vectorised over
links), carries its units in its argument names and has a worked example that runs as a
doctest. The formulas and their sources are in ``docs/methodology.md``.
"""
