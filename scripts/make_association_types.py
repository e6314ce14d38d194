#!/usr/bin/env python3
"""Generate src/localspot/data/association_types.json from HubSpot's HUBSPOT_DEFINED association type list.

Usage:
    python scripts/make_association_types.py INPUT OUTPUT [OBJECT_TYPES]

INPUT        the derived list (shared/specs/derived/hubspot_defined_association_types.json):
             {"source": {...}, "types": [{"name": "TASK_TO_CONTACT", "associationTypeId": 204, ...}, ...]}
OUTPUT       where to write association_types.json
OBJECT_TYPES object_types.json, used to map singular names to objectTypeIds
             (default: object_types.json beside OUTPUT)

Names have the form [PRIMARY_]A_TO_B, where A and B are object singulars in upper case.
Types whose ends are not standard object types are skipped and listed on stderr, as are
duplicate ids. A type whose inverse is missing is kept with "inverseTypeId": null.
"""

import json
import sys
from pathlib import Path

PRIMARY = "PRIMARY_"

# Names that do not follow the [PRIMARY_]A_TO_B pattern: name -> (from, to, primary).
SPECIAL = {
    "PARENT_TO_CHILD_COMPANY": ("COMPANY", "COMPANY", False),
    "CHILD_TO_PARENT_COMPANY": ("COMPANY", "COMPANY", False),
    "LEAD_TO_PRIMARY_CONTACT": ("LEAD", "CONTACT", True),
}
SPECIAL_INVERSE = {
    "PARENT_TO_CHILD_COMPANY": "CHILD_TO_PARENT_COMPANY",
    "CHILD_TO_PARENT_COMPANY": "PARENT_TO_CHILD_COMPANY",
}


def load_object_ids(path: Path) -> dict[str, str]:
    """Map upper-case singular names (CONTACT, LINE_ITEM, ...) to objectTypeIds."""
    types = json.loads(path.read_text(encoding="utf-8"))
    return {t["singular"].upper(): t["objectTypeId"] for t in types}


def parse_name(name: str, known: dict[str, str]) -> tuple[str, str, bool] | None:
    """Return (FROM, TO, primary) for an association name, or None if it does not parse."""
    if name in SPECIAL:
        return SPECIAL[name]
    primary = name.startswith(PRIMARY)
    body = name[len(PRIMARY) :] if primary else name
    parts = body.split("_TO_")
    # Try every split point so multi-word singulars (LINE_ITEM, POSTAL_MAIL) resolve.
    candidates = []
    for i in range(1, len(parts)):
        left, right = "_TO_".join(parts[:i]), "_TO_".join(parts[i:])
        candidates.append((left, right))
    for left, right in candidates:
        if left in known and right in known:
            return left, right, primary
    if len(candidates) == 1:
        left, right = candidates[0]
        return left, right, primary
    return None


def inverse_name(name: str, a: str, b: str, primary: bool) -> str:
    if name in SPECIAL_INVERSE:
        return SPECIAL_INVERSE[name]
    return f"{PRIMARY if primary else ''}{b}_TO_{a}"


def label_for(name: str) -> str:
    body = name[len(PRIMARY) :] if name.startswith(PRIMARY) else name
    return body.lower()


def source_text(src: dict) -> str:
    license_ = src.get("license", "").split(" ")[0] or "unknown license"
    return (
        f"{src.get('repo', '?')} {src.get('path', '?')} @ {src.get('commit', '?')[:8]} "
        f"({license_}), HUBSPOT_DEFINED association types"
    )


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    src_path, out_path = Path(argv[1]), Path(argv[2])
    types_path = Path(argv[3]) if len(argv) == 4 else out_path.parent / "object_types.json"

    known = load_object_ids(types_path)
    data = json.loads(src_path.read_text(encoding="utf-8"))

    parsed = []  # (name, id, category, FROM, TO, primary)
    seen_ids: dict[int, str] = {}
    skipped = []
    for entry in data["types"]:
        name, type_id = entry["name"], int(entry["associationTypeId"])
        category = entry.get("associationCategory", "HUBSPOT_DEFINED")
        ends = parse_name(name, known)
        if ends is None or ends[0] not in known or ends[1] not in known:
            skipped.append(f"{type_id} {name}: not between standard object types")
            continue
        if type_id in seen_ids:
            skipped.append(f"{type_id} {name}: duplicate id (already used by {seen_ids[type_id]})")
            continue
        seen_ids[type_id] = name
        parsed.append((name, type_id, category) + ends)

    ids_by_name = {p[0]: p[1] for p in parsed}
    out_types = []
    no_inverse = []
    for name, type_id, category, a, b, primary in parsed:
        inverse = ids_by_name.get(inverse_name(name, a, b, primary))
        if inverse is None:
            no_inverse.append(f"{type_id} {name}")
        out_types.append(
            {
                "associationTypeId": type_id,
                "name": name,
                "label": label_for(name),
                "category": category,
                "fromObjectTypeId": known[a],
                "toObjectTypeId": known[b],
                "inverseTypeId": inverse,
                "primary": primary,
            }
        )

    out = {"source": source_text(data.get("source", {})), "types": out_types}
    out_path.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")

    for line in skipped:
        print(f"skipped {line}", file=sys.stderr)
    for line in no_inverse:
        print(f"no inverse: {line}", file=sys.stderr)
    print(
        f"wrote {len(out_types)} types to {out_path} ({len(skipped)} skipped, {len(no_inverse)} without inverse)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
