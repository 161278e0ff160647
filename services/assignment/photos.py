"""Photos of the opinions a level below sent up: checked again, kept with this level's copy of the opinion, sent
further up with it, and shown to this level's staff and to the agency it is given to, never to the public (the
citizen follows the opinion, photos included, where it was received)."""

from __future__ import annotations

from typing import Any

from services.assignment.repository import AssignmentRepository
from shared.events import Envelope, EscalationMediaAddedV1, OpinionEscalatedV1
from shared.media import MediaRefused, MediaStore, TooManyFiles, Upward, check
from shared.messaging.consumer import TransientError
from shared.messaging.links import LinkRefused


class EscalatedPhotos:
    def __init__(self, repository: AssignmentRepository, store: MediaStore, *, instance: str) -> None:
        self.repository = repository
        self.store = store
        self.instance = instance

    async def receive(self, event: Envelope[EscalationMediaAddedV1]) -> None:
        """A photo from the child that sent the opinion up (the link guard checked the child): kept once; on up
        at once if the opinion went further. A photo that is not one, or one too many, is refused (dead letter)."""
        p = event.payload
        assignment = await self.repository.get(p.opinion_id)
        if assignment is None:
            # Its escalation travels in another queue and may be a moment behind; the delivery limit ends a wait
            # for one that never comes.
            raise TransientError(f"opinion {p.opinion_id} ({p.tracking_code}) has not arrived here yet")
        if (assignment.came_from, assignment.tracking_code, assignment.origin_instance) != (
            p.from_instance,
            p.tracking_code,
            p.origin_instance,
        ):
            raise LinkRefused(
                "unknown_opinion", f"{p.from_instance!r} sends a photo of {p.opinion_id}, which it did not send here"
            )
        checked = check(p.data, max_bytes=self.store.max_bytes)
        if checked.kind != "photo":
            raise MediaRefused(
                415, "not_a_photo", "Chỉ ảnh được gửi lên cấp trên.", f"Only photos are sent up, not a {checked.kind}."
            )
        by = {"source": p.added_by, "via": p.from_instance}
        try:
            await self.store.add(
                p.opinion_id, checked, filename=None, purpose="evidence", by=by, at=p.added_at, media_id=p.media_id
            )
        except TooManyFiles:
            raise MediaRefused(
                409,
                "too_many_files",
                f"Ý kiến {p.tracking_code} đã đủ {self.store.max_files} ảnh ở cấp này; ảnh {p.media_id} không lưu.",
                f"Opinion {p.tracking_code} has its {self.store.max_files} files here; photo {p.media_id} not kept.",
            ) from None
        await self.store.send_pending(p.opinion_id)

    async def went_up(self, event: Envelope[OpinionEscalatedV1]) -> None:
        """This level sent an opinion further up: the photos the level below sent follow it, and any that come."""
        p = event.payload
        if p.origin_instance == self.instance:
            return  # received here: its photos are intake's, which sends them
        await self.store.went_up(
            Upward(
                opinion_id=p.opinion_id, tracking_code=p.tracking_code, origin_instance=p.origin_instance,
                from_instance=self.instance, to_instance=p.to_instance, correlation_id=event.correlation_id,
            )
        )  # fmt: skip

    async def of(self, opinion_id: str) -> list[dict[str, Any]]:
        return await self.store.list(opinion_id)
