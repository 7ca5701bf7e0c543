"""Tests of lightning_paretopo.pareto."""
