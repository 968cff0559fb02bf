"""The reusable map: registry layers with toggles and legends, level/measure/window selectors,
the grid card. Used by /screen (the wall) and /map (the analyst view)."""

from .component import map_component
from .profiles import PROFILES, MapProfile

__all__ = ["PROFILES", "MapProfile", "map_component"]
