"""Sending files (documents, photos and other media) and getFile."""

from __future__ import annotations

import mimetypes
from typing import Any

from sandbox.botapi.core import ApiCore
from sandbox.botapi.protocol import (
    MAX_DOWNLOAD,
    MAX_UPLOAD_DOCUMENT,
    MAX_UPLOAD_PHOTO,
    ApiError,
    Call,
    Handler,
    Upload,
    bad_request,
)
from sandbox.media import guess_extension, image_mime, image_size
from sandbox.state import StoredFile

_FILE_FOLDERS = {
    "audio": "music",
    "video": "videos",
    "animation": "animations",
    "voice": "voice",
    "sticker": "stickers",
}


class FileMethods(ApiCore):
    async def send_document(self, call: Call) -> Any:
        return await self._send_file(call, "document")

    async def send_photo(self, call: Call) -> Any:
        return await self._send_file(call, "photo")

    async def _send_file(self, call: Call, kind: str) -> Any:
        params = call.params
        chat = self._chat(params)
        source = params.get_file(kind)
        if source is None or source == "":
            raise bad_request(f"there is no {kind} in the request")
        stored = self._file_from(source, kind)
        caption, parsed = self._caption(params)
        markup = self._reply_markup(params)
        reply_to = self._reply_to(chat, params)
        self._flood(call.method, chat)
        if stored.file_id not in self.world.files:
            self.world.add_file(stored)
        return self._store(
            call,
            chat,
            kind,
            caption=caption,
            parse_mode=params.get_str("parse_mode"),
            parsed=parsed,
            file=stored,
            reply_markup=markup,
            reply_to=reply_to,
        )

    def _file_from(self, source: Upload | str, kind: str) -> StoredFile:
        if isinstance(source, str):
            existing = self.world.files.get(source)
            if existing is not None:
                if existing.kind != kind and not (
                    kind == "document" and existing.kind not in ("photo", "sticker")
                ):
                    raise bad_request(
                        f"can't use file of type {existing.kind.capitalize()} as "
                        f"{kind.capitalize()}"
                    )
                return existing
            if source.lower().startswith(("http://", "https://")):
                # The sandbox has no internet access; Telegram would download the URL.
                raise bad_request("failed to get HTTP URL content")
            raise bad_request("wrong file identifier/HTTP URL specified")
        data = source.data
        if not data:
            raise bad_request("file must be non-empty")
        width = height = 0
        if kind == "photo":
            if len(data) > MAX_UPLOAD_PHOTO:
                raise bad_request("PHOTO_SAVE_FILE_INVALID")
            size = image_size(data)
            if size is None:
                raise bad_request("IMAGE_PROCESS_FAILED")
            width, height = size
            if width + height > 10_000 or width == 0 or height == 0:
                raise bad_request("PHOTO_INVALID_DIMENSIONS")
        elif len(data) > MAX_UPLOAD_DOCUMENT:
            raise ApiError(413, "Request Entity Too Large")
        mime = source.content_type
        if not mime or mime == "application/octet-stream":
            mime = (mimetypes.guess_type(source.filename or "")[0]) or mime
        file_id, unique_id, seq = self.world.new_file_ids(kind)
        if kind == "photo":
            # Telegram re-encodes photos; the sandbox keeps the bytes, so name them truthfully.
            mime = image_mime(data)
            path = f"photos/file_{seq}{guess_extension(None, mime, '.jpg')}"
        else:
            folder = _FILE_FOLDERS.get(kind, "documents")
            path = f"{folder}/file_{seq}{guess_extension(source.filename, mime, '')}"
        return StoredFile(
            file_id=file_id,
            file_unique_id=unique_id,
            kind=kind,
            data=data,
            file_path=path,
            file_name=source.filename
            if kind in ("document", "audio", "video", "animation")
            else None,
            mime_type=mime,
            width=width,
            height=height,
        )

    def _file_sender(self, kind: str) -> Handler:
        async def sender(call: Call) -> Any:
            return await self._send_file(call, kind)

        return sender

    async def get_file(self, call: Call) -> Any:
        file_id = call.params.get_str("file_id") or ""
        stored = self.world.files.get(file_id)
        if stored is None:
            raise bad_request("wrong file_id or the file is temporarily unavailable")
        if stored.size > MAX_DOWNLOAD:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }
