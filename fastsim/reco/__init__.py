"""Reconstruction: particle lists, vertex fits, displaced vertices, CM-frame kinematics."""
