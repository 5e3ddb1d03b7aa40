"""The runtime's hardware boundary as emulator hooks: the profile's `[[hooks]]` tables, checked.

The profile names functions and actions (data); this turns them into `gomcu.emu.Hook` values
the emulator applies by address, without the emulator knowing which runtime it runs.
"""

from __future__ import annotations

from typing import Any

from gomcu.emu.hooks import ACTIONS, Hook
from gomcu.errors import GomcuError
from gomcu.runtime.profile import RuntimeProfile


def _hook(raw: dict[str, Any], origin: str) -> Hook:
    action = raw.get("action")
    if action not in ACTIONS:
        raise GomcuError(f"runtime profile {origin}: hook {raw.get('function')!r}: action must be one of "
                         f"{', '.join(ACTIONS)}, got {action!r}")
    unit = raw.get("unit", "timer")
    if unit != "timer" and (isinstance(unit, bool) or not isinstance(unit, int) or unit <= 0):
        raise GomcuError(f"runtime profile {origin}: hook {raw.get('function')!r}: unit must be 'timer' or a rate in Hz")
    bits = raw.get("bits", 64)
    if bits not in (32, 64):
        raise GomcuError(f"runtime profile {origin}: hook {raw.get('function')!r}: bits must be 32 or 64")
    return Hook(str(raw["function"]), str(action), None if unit == "timer" else int(unit), int(bits),
                int(raw.get("results", 1)),
                tuple((str(k), int(v)) for k, v in dict(raw.get("unit_by_family", {})).items()),
                bool(raw.get("fallback", False)))


def boundary_hooks(profile: RuntimeProfile | None) -> tuple[Hook, ...]:
    """The profile's hooks (none without a profile)."""
    if profile is None:
        return ()
    try:
        return tuple(_hook(h, profile.name) for h in profile.hooks)
    except (KeyError, TypeError, ValueError) as error:
        raise GomcuError(f"runtime profile {profile.name}: invalid hook ({error!r})") from None


def hooks_for_image(image: Any) -> tuple[Hook, ...]:
    """The hooks of the profile detected for the image (what `gomcu run` applies by default)."""
    from gomcu.runtime.profile import detect_family

    return boundary_hooks(detect_family(s.name for s in image.symbols))
