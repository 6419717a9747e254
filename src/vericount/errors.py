"""Exceptions raised by the library. Each boundary (CLI, web desk) turns them into one line for the user."""


class VericountError(Exception):
    """Base class: the message is meant for the user, complete and on one line."""


class CaseNotFound(VericountError):
    """No case where one was looked for."""


class CaseError(VericountError):
    """A case exists but cannot be used as asked (schema, database, layout)."""


class ItemNotFound(VericountError):
    """An item reference matches nothing in the case."""


class AmbiguousItem(VericountError):
    """An item reference matches more than one item."""


class InvalidValue(VericountError):
    """A value given by the user (option, CSV field, argument) is not valid."""


class UnsupportedFile(VericountError):
    """A file is not a kind of media vericount takes; nothing is stored for it."""


class IngestError(VericountError):
    """A file could not be read or stored."""


class ProbeError(VericountError):
    """A stored file's metadata could not be read (corrupt, truncated, not what its name says)."""


class DecodeError(VericountError):
    """A stored file's pictures could not be decoded (no video stream, no decodable frame, corrupt)."""


class FaceError(VericountError):
    """A face box cannot be embedded: empty once clipped to the image, or too small to mean anything."""


class Conflict(VericountError):
    """Someone else decided on the same thing after the user looked at it; nothing was saved.
    ``changes``: what they decided (who, what, when), to show beside the refusal; ``item_id``: the item
    they changed, when it was one item."""

    def __init__(self, message: str, changes: list[dict[str, object]] | None = None,
                 item_id: str | None = None) -> None:
        super().__init__(message)
        self.changes = changes or []
        self.item_id = item_id
