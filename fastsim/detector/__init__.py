"""Detector response (Belle II and Belle): geometry and parametrisations from the detector cards."""
