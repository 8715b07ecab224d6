"""Test helpers shipped with the package: capability gates and fixture factories."""
