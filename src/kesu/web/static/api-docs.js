// The API's interactive documentation (/api/v1/docs): Swagger UI from the package's own
// static files, started here rather than by an inline script (the pages' CSP allows neither
// inline scripts nor other hosts).
window.addEventListener("DOMContentLoaded", function () {
  if (typeof window.SwaggerUIBundle !== "function") {
    document.getElementById("swagger-ui").textContent =
      "Swagger UI is not installed (make assets); the API description is at /api/v1/openapi.json";
    return;
  }
  window.SwaggerUIBundle({
    url: "/api/v1/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    showExtensions: true,
  });
});
