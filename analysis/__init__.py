"""Slim analysis modules: fastsim HDF5 files -> efficiencies -> limits."""
