"""Zone imports from files: GeoJSON, GeoPackage, zipped Shapefile and KML.

`options` says how a file's fields map to a zone (options or a small YAML), `reading` opens the file safely and
reads its features, `records` checks each feature, `plan` groups them into zones (a key, or consecutive periods
of one place) and dissolves multi-part boundaries, and `apply` writes them through the same domain functions as
the API (create, extend, patch, archive), in one transaction: every rule and the audit log apply.
"""
