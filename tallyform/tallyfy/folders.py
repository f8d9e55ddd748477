"""Live folders that a folder path cannot tell apart.

Templates name their folder by path (``Finance/Purchasing``). Two live folders with the
same name under the same parent have the same path: tallyform puts templates in the
first as the org lists them, and a person in the Tallyfy UI may use the other. A plan
warns about each such pair, naming their ids, as it reports templates that share a key.
"""

from __future__ import annotations

from tallyform.tallyfy.read import LiveOrg


def duplicate_folders(org: LiveOrg) -> list[str]:
    """A warning for each folder path that more than one live folder has."""
    by_place: dict[tuple[str, str | None], list[str]] = {}
    for folder_id, folder in org.folders.items():
        place = (folder.name, folder.parent_id)
        by_place.setdefault(place, []).append(str(folder_id))
    warnings = []
    for ids in by_place.values():
        if len(ids) > 1:
            path = org.folder_path(ids[0])
            warnings.append(
                f"the org has {len(ids)} folders '{path}' (ids {', '.join(ids)}): templates "
                f"with `folder: {path}` go to the first, {ids[0]}; merge them or rename one "
                "in Tallyfy"
            )
    return warnings
