"""Who is asking: the signed-in user, wall or API token behind the current request, with the
role and jurisdiction the server loaded for it (never a value the browser sent)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from domain.access import Action, Role, RolePolicy, Tier, policy
from domain.masking import Masker

from .scope import Scope

ViewerKind = Literal["user", "wall", "token", "cli"]


@dataclass(frozen=True)
class Viewer:
    """The caller of one request. ``scope`` is the caller's jurisdiction, already bounded by
    the deployment's (setting ``jurisdiction``); ``layout`` is a wall link's screen layout."""

    kind: ViewerKind
    id: int
    name: str
    role: Role
    scope: Scope
    layout: str = "standard"
    client_addr: str = ""

    @property
    def policy(self) -> RolePolicy:
        return policy(self.role)

    @property
    def tier(self) -> Tier:
        return self.policy.tier

    @property
    def masker(self) -> Masker:
        return Masker(self.tier)

    def may(self, action: Action) -> bool:
        return action in self.policy.actions

    def may_open(self, path: str) -> bool:
        return path in self.policy.pages

    def may_mount(self, layer_id: str) -> bool:
        return layer_id in self.policy.layers

    @property
    def label(self) -> str:
        """'kind:name' for logs and audit rows."""
        return f"{self.kind}:{self.name}"
