"""What plugs into the sweep: each feature's renderers and first-due hooks, in one place."""

from __future__ import annotations

from kcbx.bot.services import Services


def register_features(services: Services) -> None:
    """Called once by the composition root and by the offline CLI after opening services."""
    hooks = services.task_hooks
    del hooks  # features register here, e.g. notices.register(hooks)
