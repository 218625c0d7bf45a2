"""The data-access layer: every SQL statement of the service lives here or in geoservice/sql/."""
