// 405 for a known path asked with the wrong method: the methods its routes answer, for `Allow`.

interface RouteEntry {
  method: string;
  path: string;
}

/** Matches a request path against the registered routes (`/v1/documents/:id` style) and lists their methods. */
export function methodIndex(routes: () => readonly RouteEntry[]) {
  let compiled: { pattern: RegExp; method: string }[] | undefined;
  return (path: string): string[] => {
    compiled ??= routes()
      .filter((r) => r.method !== 'ALL' && !r.path.includes('*'))
      .map((r) => ({
        method: r.method,
        pattern: new RegExp(
          `^${r.path
            .split('/')
            .map((s) => (s.startsWith(':') ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
            .join('/')}$`,
        ),
      }));
    const methods = new Set(compiled.filter((r) => r.pattern.test(path)).map((r) => r.method));
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods];
  };
}
