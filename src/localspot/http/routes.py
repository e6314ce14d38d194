"""Both path families from one set of handlers: each family is a mount of the same routes."""

from __future__ import annotations

from starlette.routing import Mount

from localspot.http import associations, objects, properties, schemas

# (v3 path, date-versioned path) of each API; a behaviour that differs by version would be a
# parameter of the mount, never a copied handler.
FAMILIES = {
    "objects": (("/crm/v3/objects", "/crm/objects/2026-03"), objects.ROUTES),
    "properties": (("/crm/v3/properties", "/crm/properties/2026-03"), properties.ROUTES),
    "schemas": (("/crm-object-schemas/v3", "/crm-object-schemas/2026-03"), schemas.ROUTES),
    "record associations": (("/crm/v4/objects", "/crm/objects/2026-03"), associations.RECORD_ROUTES),
    "associations": (("/crm/v4/associations", "/crm/associations/v4"), associations.V4_PAIR_ROUTES),
    "associations 2026-03": (("/crm/associations/2026-03",), associations.DATED_PAIR_ROUTES),
}


def routes() -> list[Mount]:
    """One mount per path prefix: a Starlette mount that matches a prefix never falls through to another
    mount of the same prefix, so families sharing one (`/crm/objects/2026-03`) are joined first."""
    by_prefix: dict[str, list] = {}
    for prefixes, handlers in FAMILIES.values():
        for prefix in prefixes:
            by_prefix.setdefault(prefix, []).extend(handlers)
    return [Mount(prefix, routes=handlers) for prefix, handlers in by_prefix.items()]
