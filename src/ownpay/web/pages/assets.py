"""Static assets: named bundles served under ``/assets/<bundle>/<path>`` (our own origin,
no CDN).  The kernel's own bundle is ``kernel``; each sub-application and each gateway that
ships browser code registers one.  ``aliases`` keep older public paths working
(``/checkout-assets/`` is the checkout bundle)."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

KERNEL_STATIC = Path(__file__).parent / "static"
PREFIX = "/assets"


class Assets:
    """``prefix``: where the bundles are served (``/assets`` for the checkout,
    ``/admin/assets`` for the dashboard, which serves its own)."""

    def __init__(self, prefix: str = PREFIX) -> None:
        self.prefix = prefix
        self.bundles: dict[str, Path] = {"kernel": KERNEL_STATIC}
        self.aliases: dict[str, str] = {}

    def add(self, name: str, directory: Path, *, alias: str | None = None) -> None:
        if name in self.bundles and self.bundles[name] != directory:
            raise ValueError(f"asset bundle {name!r} registered twice")
        self.bundles[name] = directory
        if alias:
            self.aliases[alias] = name

    def url(self, bundle: str, path: str) -> str:
        if bundle not in self.bundles:
            raise KeyError(f"no asset bundle {bundle!r}")
        return f"{self.prefix}/{bundle}/{path}"

    def mounts(self) -> list[Mount]:
        """The routes that serve every bundle (and its aliases)."""
        mounts = [Mount(f"{self.prefix}/{name}", app=StaticFiles(directory=directory),
                        name=f"assets-{name}")
                  for name, directory in self.bundles.items()]
        mounts += [Mount(alias, app=StaticFiles(directory=self.bundles[name]),
                         name=f"assets-alias-{name}")
                   for alias, name in self.aliases.items()]
        return mounts
