"""A YAML loader for documents from elsewhere: PyYAML's safe loader without anchors and
aliases, which netmdt's documents never need and a "billion laughs" document uses to
grow a few kilobytes into gigabytes."""

from __future__ import annotations

from typing import Any, ClassVar

import yaml


class NoAliasLoader(yaml.SafeLoader):
    """Refuses the first anchor or alias, naming the document kind (``what``)."""

    what: ClassVar[str] = "this document"

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(
                None,
                None,
                f"YAML anchors and aliases (&name, *name) are not allowed in {self.what}",
                event.start_mark,
            )
        return super().compose_node(parent, index)
