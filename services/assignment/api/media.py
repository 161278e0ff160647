"""Photos of an opinion a level below sent up, as this level's staff and the agency it is given to see them:
with a key or a person's token only (no opinion is public, and the citizen follows it where it was received)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.assignment.api.opinions import Service, load_opinion
from services.assignment.photos import EscalatedPhotos
from shared.http.auth import EVERYONE, Caller, require_role
from shared.http.media import FILE_RESPONSES, THUMBNAIL_RESPONSES, MediaView, file_response, media_list, media_view

router = APIRouter(prefix="/api/v1", tags=["ảnh kèm ý kiến cấp dưới chuyển lên"])

Reader = Annotated[Caller, Depends(require_role(*EVERYONE))]


def get_photos(request: Request) -> EscalatedPhotos:
    return request.app.state.assignment.photos


Photos = Annotated[EscalatedPhotos, Depends(get_photos)]


@router.get(
    "/opinions/{tracking_code}/media",
    response_model=list[MediaView],
    summary="Ảnh kèm ý kiến cấp dưới chuyển lên (cán bộ; cơ quan được giao ý kiến)",
    responses={401: {}, 403: {}, 404: {}},
)
async def list_media(
    tracking_code: str, request: Request, service: Service, photos: Photos, caller: Reader
) -> Response:
    assignment = await load_opinion(service, tracking_code, caller)
    base, code = str(request.base_url).rstrip("/"), assignment.tracking_code
    return media_list([media_view(r, code, base, staff=True) for r in await photos.of(assignment.opinion_id)])


async def _serve(
    tracking_code: str, media_id: str, service: Service, photos: EscalatedPhotos, caller: Caller, *, thumbnail: bool
) -> Response:
    assignment = await load_opinion(service, tracking_code, caller)
    store, opinion_id, code = photos.store, assignment.opinion_id, assignment.tracking_code
    return await file_response(store, opinion_id, code, media_id, thumbnail=thumbnail)


@router.get(
    "/opinions/{tracking_code}/media/{media_id}",
    summary="Tải ảnh kèm ý kiến cấp dưới chuyển lên",
    response_class=Response,
    responses={**FILE_RESPONSES, 401: {}, 403: {}},
)
async def get_media_file(
    tracking_code: str, media_id: str, service: Service, photos: Photos, caller: Reader
) -> Response:
    return await _serve(tracking_code, media_id, service, photos, caller, thumbnail=False)


@router.get(
    "/opinions/{tracking_code}/media/{media_id}/thumbnail",
    summary="Ảnh thu nhỏ (JPEG, tối đa 320 điểm ảnh mỗi chiều), làm lại ở cấp này",
    response_class=Response,
    responses={**THUMBNAIL_RESPONSES, 401: {}, 403: {}},
)
async def get_media_thumbnail(
    tracking_code: str, media_id: str, service: Service, photos: Photos, caller: Reader
) -> Response:
    return await _serve(tracking_code, media_id, service, photos, caller, thumbnail=True)
