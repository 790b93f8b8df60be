// Starts Swagger UI on /api/v1/docs. A file, not an inline script: the hub's CSP
// (script-src 'self') allows no inline code. swagger-ui-bundle.js runs first (both
// are deferred, so they run in order).
window.ui = window.SwaggerUIBundle({
  url: "/api/v1/openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  // Never send the schema to an outside validator (nor load its badge image).
  validatorUrl: null,
  presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIBundle.SwaggerUIStandalonePreset],
});
