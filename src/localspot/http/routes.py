"""Both path families from one set of handlers: each family is a mount of the same routes."""

from __future__ import annotations

from starlette.routing import Mount

from localspot.http import objects, properties

# (v3 path, date-versioned path) of each API; a behaviour that differs by version would be a
# parameter of the mount, never a copied handler.
FAMILIES = {
    "objects": (("/crm/v3/objects", "/crm/objects/2026-03"), objects.ROUTES),
    "properties": (("/crm/v3/properties", "/crm/properties/2026-03"), properties.ROUTES),
}


def routes() -> list[Mount]:
    return [Mount(prefix, routes=handlers) for prefixes, handlers in FAMILIES.values() for prefix in prefixes]
