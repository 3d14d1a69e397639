"""Notifications: a triggered run's result reaches people through Slack-compatible or generic JSON webhooks.

- ``sinks.py``: ``AGENTIC_NOTIFY`` read into ``NotifySinks`` (``names()`` is what a schedule's or rule's
  ``notify`` may list; ``unknown(names)`` says which it may not), URLs kept secret;
- ``payloads.py``: ``RunNotification`` (the generic webhook's body) and its Slack rendering;
- ``sending.py``: one POST, retried with backoff within a bounded time;
- ``dispatch.py``: ``Notifications``, which hears of status changes, claims each notification in the run's
  journal (at most once across replicas) and sends it in the background.
"""

from apps.agent_core.triggers.notify.dispatch import Notifications, configured_notifications
from apps.agent_core.triggers.notify.payloads import RunNotification
from apps.agent_core.triggers.notify.sending import DeliveryPolicy
from apps.agent_core.triggers.notify.sinks import NotifySinks, Sink

__all__ = ["DeliveryPolicy", "Notifications", "NotifySinks", "RunNotification", "Sink", "configured_notifications"]
