"""Places on the map, pure: a point read as a county writes it, the distance between two
points, and the nearest of a list of places (a visit's location named by its village)."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

EARTH_KM = 6371.0088  # the mean radius (IUGG)

T = TypeVar("T")

_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")
_SEPARATORS = re.compile(r"[,，、;；/|\s]+")
# the words around a degree value: 东经105.19°, E105.19, 105.19°E, 北纬37.51度
_EAST_WEST = re.compile(r"东经|西经|[ew]", re.IGNORECASE)
_NORTH_SOUTH = re.compile(r"北纬|南纬|[ns]", re.IGNORECASE)
_MARKS = re.compile(r"东经|西经|北纬|南纬|[°度ewns]", re.IGNORECASE)


class NotAPlace(ValueError):
    """A cell that is not a longitude, a latitude or a pair of them."""


@dataclass(frozen=True)
class Point:
    latitude: float
    longitude: float


def degrees(text: str) -> tuple[float, str | None]:
    """One value as written (105.19, 东经105.19°, 37.51N, 西经…): the number (negative to the
    west or south) and which axis its words name ('lon', 'lat' or None)."""
    value = unicodedata.normalize("NFKC", text).strip()
    axis = None
    if _EAST_WEST.search(value):
        axis = "lon"
    elif _NORTH_SOUTH.search(value):
        axis = "lat"
    south_west = bool(re.search(r"西经|南纬|[ws]", value, re.IGNORECASE))
    number = _MARKS.sub("", value).strip()
    if not _NUMBER.fullmatch(number):
        raise NotAPlace(text)
    result = float(number)
    return (-abs(result) if south_west else result), axis


def point(longitude: float, latitude: float) -> Point:
    """A checked point; NotAPlace when a value is off the globe."""
    if not -90 <= latitude <= 90 or not -180 <= longitude <= 180:
        raise NotAPlace(f"{longitude},{latitude}")
    return Point(latitude, longitude)


def read_pair(text: str) -> Point:
    """One 坐标 cell: "105.19,37.51" (经度 first, as county maps write it), "37.51, 105.19",
    "东经105.19° 北纬37.51°". A value beyond ±90 can only be the longitude; words (东经, N)
    say which is which; otherwise the longitude comes first."""
    value = unicodedata.normalize("NFKC", text).strip()
    parts = [p for p in _SEPARATORS.split(value) if p]
    if len(parts) != 2:
        raise NotAPlace(text)
    (a, axis_a), (b, axis_b) = degrees(parts[0]), degrees(parts[1])
    if axis_a == "lat" or axis_b == "lon" or (abs(a) <= 90 < abs(b)):
        a, b = b, a
    return point(a, b)


def distance_km(a: Point, b: Point) -> float:
    """The great-circle distance (haversine)."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat = lat2 - lat1
    dlon = math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


def nearest(at: Point, places: Iterable[tuple[T, Point]]) -> tuple[T, float] | None:
    """The place nearest ``at`` and its distance in km; None without places."""
    best: tuple[T, float] | None = None
    for item, where in places:
        km = distance_km(at, where)
        if best is None or km < best[1]:
            best = (item, km)
    return best
