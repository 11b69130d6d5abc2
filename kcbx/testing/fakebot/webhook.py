"""Webhook mode of the fake Bot API server: setWebhook, and updates POSTed to the bot.

As Telegram does, the server accepts only an https URL on port 443, 80, 88 or 8443 and a
secret token of 1-256 characters of A-Za-z0-9_-; it sends each update with the
X-Telegram-Bot-Api-Secret-Token header, in order, retrying one that was not answered 200; and
it refuses getUpdates while a webhook is set. In production a reverse proxy terminates TLS and
passes the request to the bot's listener: here ``route`` plays that proxy, mapping the public
URL to the local one.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from urllib.parse import urlsplit

import aiohttp

from kcbx.testing.fakebot.limits import ApiError, JSONDict, _bad
from kcbx.testing.fakebot.params import _Params
from kcbx.testing.fakebot.state import FakeState

_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_PORTS = (443, 80, 88, 8443)
RETRY_SECONDS = 0.2


class WebhookMethods(FakeState):
    """setWebhook / deleteWebhook / getWebhookInfo and the delivery of updates by POST."""

    @property
    def webhook_active(self) -> bool:
        return bool(self.webhook_url)

    async def _set_webhook(self, p: _Params) -> bool:
        url = p.string("url") or ""
        if not url:
            return await self._delete_webhook(p)
        parts = urlsplit(url)
        if parts.scheme != "https":
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        if (parts.port or 443) not in _PORTS:
            raise _bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = p.string("secret_token")
        if secret is not None and not _SECRET.fullmatch(secret):
            raise _bad("bad webhook: secret token contains unallowed characters")
        allowed = p.json("allowed_updates", "can't parse allowed_updates JSON object")
        if isinstance(allowed, list) and allowed:
            self._allowed_updates = frozenset(allowed)
        if p.flag("drop_pending_updates"):
            self._updates.clear()
        self.webhook_url, self.webhook_secret = url, secret
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._push_updates())
        await self._notify()
        return True

    async def _delete_webhook(self, p: _Params) -> bool:
        if p.flag("drop_pending_updates"):
            self._updates.clear()
        self.webhook_url, self.webhook_secret = "", None
        await self._notify()
        return True

    async def _get_webhook_info(self, p: _Params) -> JSONDict:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    def _refuse_polling_with_webhook(self) -> None:
        if self.webhook_active:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )

    async def _push_updates(self) -> None:
        """POST the pending updates to the webhook, one at a time, in order."""
        async with aiohttp.ClientSession() as session:
            while not self._stopping:
                async with self._changed:
                    await self._changed.wait_for(
                        lambda: self._stopping or (self.webhook_active and bool(self._updates))
                    )
                if self._stopping or not self.webhook_active:
                    continue
                update = self._updates[0]
                if await self._post(session, update):
                    if self._updates and self._updates[0] is update:
                        self._updates.pop(0)
                else:
                    self.webhook_refused += 1
                    await asyncio.sleep(RETRY_SECONDS)  # Telegram retries a failed delivery

    async def _post(self, session: aiohttp.ClientSession, update: JSONDict) -> bool:
        target = self.route.get(self.webhook_url, self.webhook_url)
        headers = {}
        if self.webhook_secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with session.post(
                target, json=update, headers=headers, timeout=aiohttp.ClientTimeout(total=10)
            ) as response:
                return response.status == 200
        return False

    async def _stop_webhook(self) -> None:
        task = self._webhook_task
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
