"""Business metrics. Every series carries instance, level and service; other labels are bounded sets."""

from __future__ import annotations

from contextvars import ContextVar, Token

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

BASE_LABELS = ("instance", "level", "service")
_base: dict[str, str] = {"instance": "", "level": "", "service": ""}
# A process hosting many instances (shared/hosting.py) runs each in a task of its own: the labels of
# that instance are set in the task's context, and every task it starts (consumers, loops) inherits them.
_context_base: ContextVar[dict[str, str] | None] = ContextVar("metric_labels", default=None)


def configure(*, instance: str, level: str, service: str) -> None:
    labels = {"instance": instance, "level": level, "service": service}
    _base.update(labels)
    _context_base.set(labels)


def bind(labels: dict[str, str]) -> Token[dict[str, str] | None]:
    """The labels of one hosted instance for what this task does next (an HTTP request to it)."""
    return _context_base.set(labels)


def unbind(token: Token[dict[str, str] | None]) -> None:
    _context_base.reset(token)


def base() -> dict[str, str]:
    return dict(_context_base.get() or _base)


def render(registry: CollectorRegistry = REGISTRY) -> tuple[bytes, str]:
    return generate_latest(registry), CONTENT_TYPE_LATEST


DAY = 86400.0
_DURATION_BUCKETS = (1, 10, 60, 600, 3600, 6 * 3600, DAY, 3 * DAY, 7 * DAY, 15 * DAY, 30 * DAY, 60 * DAY)

OPINIONS_RECEIVED = Counter(
    "doithoai_opinions_received_total", "Opinions received, by channel.", (*BASE_LABELS, "channel")
)
CLASSIFICATION_CORRECTIONS = Counter(
    "doithoai_classification_corrections_total",
    "Fields the rules chose and staff corrected, from → to (how well the classifier does in use).",
    (*BASE_LABELS, "from_field", "to_field"),
)
MERGES = Counter(
    "doithoai_opinions_merged_total",
    "Opinions staff merged into another raising the same matter (its citizen kept as a co-signer).",
    BASE_LABELS,
)
OPINIONS_CLASSIFIED = Counter(
    "doithoai_opinions_classified_total",
    "Opinions classified, by field, answering head and method.",
    (*BASE_LABELS, "field", "head", "method"),
)
OPINIONS_ANSWERED = Counter("doithoai_opinions_answered_total", "Opinions answered, by kind.", (*BASE_LABELS, "kind"))
RECEIPT_TO_ASSIGNMENT = Histogram(
    "doithoai_receipt_to_assignment_seconds",
    "Time from receipt of an opinion to its assignment to an agency.",
    BASE_LABELS,
    buckets=_DURATION_BUCKETS,
)
RECEIPT_TO_ANSWER = Histogram(
    "doithoai_receipt_to_answer_seconds",
    "Time from receipt of an opinion to its answer.",
    BASE_LABELS,
    buckets=_DURATION_BUCKETS,
)
TIMERS_FIRED = Counter("doithoai_timers_fired_total", "Deadline timers fired, by kind.", (*BASE_LABELS, "kind"))
NOTIFICATIONS = Counter(
    "doithoai_notifications_total",
    "Notifications by channel, type and outcome (sent, failed, duplicate).",
    (*BASE_LABELS, "channel", "type", "outcome"),
)
EVENTS_PUBLISHED = Counter(
    "doithoai_events_published_total", "Events confirmed by the broker.", (*BASE_LABELS, "event_type")
)
MESSAGES_REJECTED = Counter(
    "doithoai_messages_rejected_total",
    "Messages rejected to a dead-letter queue (malformed, unknown version, handler bug).",
    (*BASE_LABELS, "event_type"),
)
RATE_LIMITED = Counter(
    "doithoai_http_rate_limited_total", "Requests to public endpoints refused with 429 (rate limit).", BASE_LABELS
)
LINKS_REFUSED = Counter(
    "doithoai_link_messages_refused_total",
    "Messages from a neighbour refused (unknown child, not the parent, wrong chain, forged sender…).",
    (*BASE_LABELS, "reason"),
)
ESCALATIONS = Counter(
    "doithoai_escalations_total",
    "Escalations sent to the parent, received from children, and acknowledged from above.",
    (*BASE_LABELS, "direction"),
)
QUEUE_MESSAGES = Gauge(
    "doithoai_queue_messages",
    "Messages ready in a queue this service watches: its dead-letter queues, and link queues.",
    (*BASE_LABELS, "queue", "kind"),
)
OPEN_OPINIONS = Gauge("doithoai_open_opinions", "Opinions not yet closed, by status.", (*BASE_LABELS, "status"))
OVERDUE_NOW = Gauge("doithoai_overdue_opinions", "Open opinions past their answer deadline now.", BASE_LABELS)
OUTBOX_BACKLOG = Gauge(
    "doithoai_outbox_backlog",
    "Documents whose events the outbox relay's last pass, after the grace, still could not publish.",
    BASE_LABELS,
)
DOCUMENTS_MISSING = Gauge(
    "doithoai_documents_missing",
    "Documents of concluded conferences that could not be produced yet (minutes, notices…), by kind.",
    (*BASE_LABELS, "kind"),
)
