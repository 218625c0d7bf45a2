"""Copy the zone kinds of layers/kinds.yaml into the zone_kind table (rules stay defined in layers/)."""

from __future__ import annotations

import psycopg
from psycopg.types.json import Jsonb

from geoservice.layers import Layers

UPSERT = """
INSERT INTO zone_kind (code, name_da, name_en, legal_basis, public_by_default, never_public, end_required,
                       warning_days, daily_window_start, daily_window_end, definition)
VALUES (%(code)s, %(name_da)s, %(name_en)s, %(legal_basis)s, %(public_by_default)s, %(never_public)s,
        %(end_required)s, %(warning_days)s, %(daily_window_start)s, %(daily_window_end)s, %(definition)s)
ON CONFLICT (code) DO UPDATE SET
    name_da = EXCLUDED.name_da, name_en = EXCLUDED.name_en, legal_basis = EXCLUDED.legal_basis,
    public_by_default = EXCLUDED.public_by_default, never_public = EXCLUDED.never_public,
    end_required = EXCLUDED.end_required, warning_days = EXCLUDED.warning_days,
    daily_window_start = EXCLUDED.daily_window_start, daily_window_end = EXCLUDED.daily_window_end,
    definition = EXCLUDED.definition
WHERE (zone_kind.*) IS DISTINCT FROM (EXCLUDED.*)
"""


def sync_kinds(conn: psycopg.Connection, layers: Layers) -> int:
    """Upsert every kind; returns how many rows changed. Kinds no longer in the file are kept (zones may
    still use them) and reported by `unknown_kinds`."""
    changed = 0
    with conn.transaction():
        for rules in layers.kinds.values():
            window = rules.daily_window
            cur = conn.execute(
                UPSERT,
                {
                    "code": rules.code,
                    "name_da": rules.name.da,
                    "name_en": rules.name.en,
                    "legal_basis": rules.legal_basis,
                    "public_by_default": rules.public_by_default,
                    "never_public": rules.never_public,
                    "end_required": rules.end_required,
                    "warning_days": rules.widest_warning_days,
                    "daily_window_start": window.start if window else None,
                    "daily_window_end": window.end if window else None,
                    "definition": Jsonb(rules.model_dump(mode="json")),
                },
            )
            changed += cur.rowcount
    return changed


def unknown_kinds(conn: psycopg.Connection, layers: Layers) -> list[str]:
    rows = conn.execute("SELECT code FROM zone_kind ORDER BY code").fetchall()
    return [r[0] for r in rows if r[0] not in layers.kinds]
