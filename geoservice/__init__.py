"""geoservice: Danish police zones with their legal validity periods, on PostGIS."""

__version__ = "0.1.0"
