import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Hono } from 'hono';
import type { AppEnv } from './env.ts';

// API reference rendered by Swagger UI from /openapi.json. Its assets are served
// from the swagger-ui-dist package, so the page works with no network access.
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

// The page has no inline script (its start-up is /docs/assets/docs.js), so it runs under a strict
// CSP: scripts, styles and fetches from this origin only (Swagger UI sets styles through the DOM,
// which 'unsafe-inline' does not govern; its icons are data: SVGs), and no framing.
const START = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui', deepLinking: true, persistAuthorization: false });\n`;

const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>citepay API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div><script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/docs.js"></script>
</body></html>`;

export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const pageHeaders = {
  'content-security-policy': DOCS_CSP,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};

export const docsRoutes = new Hono<AppEnv>()
  .get('/docs', (c) => c.html(page, 200, pageHeaders))
  .get('/docs/assets/docs.js', (c) =>
    c.body(START, 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'x-content-type-options': 'nosniff',
      'cache-control': 'public, max-age=300',
    }),
  )
  .get('/docs/assets/:file', async (c) => {
    const file = c.req.param('file');
    const type = ASSETS[file];
    if (!type) return c.notFound();
    const dir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
    return c.body(await readFile(join(dir, file)), 200, {
      'content-type': type,
      'x-content-type-options': 'nosniff',
      'cache-control': 'public, max-age=86400',
    });
  });
