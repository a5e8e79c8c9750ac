"""Great-circle distance between a patient's location and trial sites.

No geocoding service and no postcode table ship (no verifiable, licensed source of UK
postcode-district centroids was found; docs/trials.md): the caller gives coordinates.
"""

from __future__ import annotations

import math

EARTH_RADIUS_KM = 6371.0088  # the mean Earth radius (IUGG)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Distance in km along the Earth's surface (haversine, mean radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def parse_point(text: str) -> tuple[float, float]:
    """``"51.553,-0.165"`` -> (lat, lon); ValueError naming what is allowed."""
    parts = text.split(",")
    if len(parts) != 2:
        raise ValueError(f"expected LAT,LON (e.g. 51.553,-0.165), got {text!r}")
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        raise ValueError(f"expected LAT,LON numbers (e.g. 51.553,-0.165), got {text!r}") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"latitude must be -90..90 and longitude -180..180, got {text!r}")
    return lat, lon
