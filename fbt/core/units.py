"""Time units of fbt's clock: every timestamp is an ``int`` of nanoseconds since 1970-01-01 (UTC).

>>> NS_PER_DAY == SECONDS_PER_DAY * NS_PER_SECOND
True
"""

from typing import Final

__all__ = ["NS_PER_DAY", "NS_PER_SECOND", "SECONDS_PER_DAY"]

NS_PER_SECOND: Final = 1_000_000_000
SECONDS_PER_DAY: Final = 86_400
NS_PER_DAY: Final = SECONDS_PER_DAY * NS_PER_SECOND
