"""Continuous symmetries at a point for the verifiers (tangents of the reduced Hessian).

A thin re-export: the one statement of the symmetries, and their exact tangent vectors, is
:mod:`spurious.symmetries` (see ../shared/DESIGN.md, "What a certificate is", step 3).
"""

from ..symmetries import Tangent, symmetry_names, symmetry_tangents

__all__ = ["Tangent", "symmetry_tangents", "symmetry_names"]
