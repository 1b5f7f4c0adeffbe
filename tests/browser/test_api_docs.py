"""The API's interactive documentation, as an integrator opens it on a machine without internet
access: Swagger UI from Kesu's own static files, under the pages' CSP."""

from __future__ import annotations

from playwright.sync_api import expect


def test_the_interactive_api_docs_show_the_operations_without_a_cdn_or_a_csp_violation(
    page, live, org
):
    """FastAPI's own page loads Swagger UI from cdn.jsdelivr.net and starts it with an inline
    script: the CSP blocks both, so /api/v1/docs was blank (and offline it could never load).
    The page fixture fails on any CSP violation or failed sub-resource."""
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(f"{live}/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Kesu 客诉 API")
    expect(
        page.locator("#operations-complaints-create_complaint_api_v1_complaints_post")
    ).to_be_visible()
    assert all(url.startswith(live) for url in requested), requested
