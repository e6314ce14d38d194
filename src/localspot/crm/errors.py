"""Typed errors that carry everything HubSpot's error envelope needs.

The domain raises these; one renderer in `http/` turns them into the wire envelope. Keeping status,
category and context on the exception means no handler ever builds an error dict by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class HubSpotError(Exception):
    """An error HubSpot would answer with its `{"status": "error", ...}` envelope."""

    message: str
    status: int = 400
    category: str = "VALIDATION_ERROR"
    context: dict[str, list[str]] | None = None
    errors: list[dict[str, Any]] | None = None
    sub_category: str | None = None
    links: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def body(self, correlation_id: str) -> dict[str, Any]:
        """The envelope, in HubSpot's key order (status, message, correlationId, ...)."""
        out: dict[str, Any] = {"status": "error", "message": self.message, "correlationId": correlation_id}
        if self.errors is not None:
            out["errors"] = self.errors
        if self.context is not None:
            out["context"] = self.context
        if self.links is not None:
            out["links"] = self.links
        out["category"] = self.category
        if self.sub_category is not None:
            out["subCategory"] = self.sub_category
        return out

    def batch_item(self, context: dict[str, list[str]]) -> dict[str, Any]:
        """The `StandardError` form used inside a 207 answer's `errors` list."""
        item: dict[str, Any] = {
            "status": "error",
            "category": self.category,
            "message": self.message,
            "context": {**(self.context or {}), **context},
            "errors": self.errors or [],
            "links": self.links or {},
        }
        if self.sub_category is not None:
            item["subCategory"] = self.sub_category
        return item


def validation_error(message: str, **kwargs: Any) -> HubSpotError:
    return HubSpotError(message, status=400, category="VALIDATION_ERROR", **kwargs)


def not_found(message: str, **kwargs: Any) -> HubSpotError:
    return HubSpotError(message, status=404, category="OBJECT_NOT_FOUND", **kwargs)


def conflict(message: str, **kwargs: Any) -> HubSpotError:
    return HubSpotError(message, status=409, category="CONFLICT", **kwargs)


AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find "
    "more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


def invalid_authentication(message: str = AUTH_MESSAGE) -> HubSpotError:
    return HubSpotError(message, status=401, category="INVALID_AUTHENTICATION")


def object_not_found(object_id: str) -> HubSpotError:
    """HubSpot's single-record 404; note the two spaces after "found." (copied from real answers)."""
    return not_found("Object not found.  objectId are usually numeric.", context={"id": [str(object_id)]})


def unknown_object_type(object_type: str) -> HubSpotError:
    return HubSpotError(
        f"Unable to infer object type from: {object_type}",
        status=400,
        category="VALIDATION_ERROR",
        context={"objectType": [object_type]},
    )
