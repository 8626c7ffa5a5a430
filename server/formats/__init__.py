"""Wire formats: one codec per client-facing API format, in a registry keyed by `WireFormat`."""

from __future__ import annotations

from server.formats.base import PassthroughCodec, Relayed, SessionHints
from server.formats.chat import ChatCompletionsCodec
from server.formats.messages import MessagesCodec
from server.formats.responses import ResponsesCodec
from server.names import WireFormat

__all__ = ["CODECS", "PassthroughCodec", "Relayed", "SessionHints"]

CODECS: dict[WireFormat, PassthroughCodec] = {
    WireFormat.CHAT_COMPLETIONS: ChatCompletionsCodec(),
    WireFormat.MESSAGES: MessagesCodec(),
    WireFormat.RESPONSES: ResponsesCodec(),
}
