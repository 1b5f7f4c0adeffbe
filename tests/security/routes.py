"""Every HTTP route of the application, found by walking the router (included routers too)."""

from __future__ import annotations


def all_routes(app) -> list[tuple[str, str]]:
    """(method, path template) for every route the application serves (HEAD left out)."""
    found: set[tuple[str, str]] = set()
    for route in app.router.routes:
        contexts = (
            route.effective_route_contexts()
            if hasattr(route, "effective_route_contexts")
            else [route]
        )
        for r in contexts:
            for method in getattr(r, "methods", None) or ():
                if method != "HEAD":
                    found.add((method, r.path))
    return sorted(found, key=lambda mp: (mp[1], mp[0]))
