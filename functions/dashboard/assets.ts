import { DASHBOARD_SCRIPT } from './client/bundle.generated.ts';

// The dashboard's script: client/dashboard.js and the parts of viem it uses, bundled ahead of time
// by `npm run build:dashboard` into a committed module, so it is served from every runtime (Node,
// Lambda, the edge) with no bundler at run time and never from a CDN.
export function dashboardScript(): string {
  return DASHBOARD_SCRIPT;
}
