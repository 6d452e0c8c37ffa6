"""Per-workspace choices that shape the vectors: models, text template, photo weight.

Stored in the workspace's meta.json, so every session, the CLI and a restarted server
see the same choices. Unset values mean "prodsim decides" (e.g. the multilingual model
for Chinese catalogs, photos on when there are any).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from prodsim.catalog import FIELDS
from prodsim.embedding import TextTemplate
from prodsim.errors import BadInputError
from prodsim.workspace import Workspace, check_writable, now_iso

TEMPLATE_FIELDS = tuple(f for f in FIELDS if f not in ("id", "price", "seller", "image"))


@dataclass
class WorkspaceSettings:
    """What to embed and with which models.

    Attributes:
        text_model: a registry name or a model folder; None picks by the catalog's language.
        image_model: a registry name, CLIP folder or ``ARCH:weights.pth``; None is EfficientNet-Lite0.
        use_images: photos on or off; None means on when the catalog has photos.
        image_weight: share of a similarity that comes from photos (0-1); None picks the default.
        template_fields: product fields joined into the text the text model reads.
        description_words: how much of the description that text keeps.
    """

    text_model: str | None = None
    image_model: str | None = None
    use_images: bool | None = None
    image_weight: float | None = None
    template_fields: tuple[str, ...] = TextTemplate().fields
    description_words: int = TextTemplate().description_words

    def template(self) -> TextTemplate:
        """The text template these settings describe."""
        return TextTemplate(tuple(self.template_fields), self.description_words)

    def validate(self) -> WorkspaceSettings:
        """Checks the values a person can get wrong; returns self."""
        unknown = [f for f in self.template_fields if f not in TEMPLATE_FIELDS]
        if unknown or not self.template_fields:
            raise BadInputError(f"The product text must be made of {', '.join(TEMPLATE_FIELDS)}; got {', '.join(unknown) or 'nothing'}.")
        if self.image_weight is not None and not 0 <= self.image_weight <= 1:
            raise BadInputError(f"The photo weight must be between 0 and 1, not {self.image_weight}.")
        if self.description_words < 0:
            raise BadInputError("The number of description words cannot be negative.")
        return self


def load_settings(workspace: Workspace) -> WorkspaceSettings:
    """The workspace's settings (defaults where nothing was chosen)."""
    stored = workspace.meta.get("settings", {})
    known = {f.name for f in fields(WorkspaceSettings)}
    settings = WorkspaceSettings(**{k: v for k, v in stored.items() if k in known})
    settings.template_fields = tuple(settings.template_fields)
    return settings


def save_settings(workspace: Workspace, settings: WorkspaceSettings) -> WorkspaceSettings:
    """Validates and stores settings, and notes a change in the history; returns them."""
    check_writable("changing settings", "admin")
    settings.validate()
    after = asdict(settings) | {"template_fields": list(settings.template_fields)}
    if workspace.meta.get("settings", {}) != after:
        before = workspace.update_meta(lambda meta: meta.update(settings=after, updated=now_iso())).get("settings", {})
        workspace.record("settings", {k: v for k, v in after.items() if before.get(k) != v})
    return settings
