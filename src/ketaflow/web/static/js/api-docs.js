// Starts Swagger UI from a file, since the CSP forbids inline script.
(function () {
  var host = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({ url: host.dataset.specUrl, domNode: host, deepLinking: true });
})();
