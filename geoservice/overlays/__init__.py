"""Overlays: incidents, insecurity reports and Tryghedsindeks survey data on zones, sectors and areas.

`taxonomy` (rules from layers/overlays.yaml), `importer` (files in), `stats` (Wilson, z-test, rate ratios),
`grid` (Det Danske Kvadratnet), `suppression` (public tables), `aggregates` (counts, survey, zone effect,
STRAF11), `reports` (insecurity reports), `demo` (deterministic demo data), `cli`.
"""
