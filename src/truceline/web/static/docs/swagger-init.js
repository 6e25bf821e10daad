// Swagger UI for /docs, from the vendored bundle only.
"use strict";

window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  deepLinking: true,
  // The default validator is an outside service that the badge image would call.
  validatorUrl: null,
});
