"""OGC API – Features (Parts 1–4) and JSON-FG over the zone register, on the same domain code as /api/v1.

`params` parses the standard query parameters, `cql` translates CQL2 filters into SQL with parameters,
`collections` describes the collections and their queryables, `features` answers the requests.
"""
