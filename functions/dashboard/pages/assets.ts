import type { Context, Hono } from 'hono';
import { dashboardScript } from '../assets.ts';
import type { DashEnv } from '../security.ts';
import { DASHBOARD_CSS } from '../styles.ts';
import { FAVICON_SVG } from '../views/parts.tsx';

// Static assets: the stylesheet, the client script and the icon (cached; no session needed).
export function registerAssets(app: Hono<DashEnv>) {
  app.get('/dashboard/assets/dashboard.css', (c) =>
    c.body(DASHBOARD_CSS, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'public, max-age=300' }),
  );
  app.get('/dashboard/assets/dashboard.js', async (c) =>
    c.body(dashboardScript(), 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=300',
    }),
  );

  const favicon = (c: Context) =>
    c.body(FAVICON_SVG, 200, { 'content-type': 'image/svg+xml', 'cache-control': 'public, max-age=86400' });
  app.get('/dashboard/assets/favicon.svg', favicon);
  app.get('/favicon.ico', favicon);
}
