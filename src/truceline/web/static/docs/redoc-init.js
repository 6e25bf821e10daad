// ReDoc for /redoc, from the vendored standalone bundle only.
"use strict";

Redoc.init("/openapi.json", {}, document.getElementById("redoc"));
