import type { Express } from 'express';

interface Layer {
  name: string;
  rawPath?: string;
  handle: { stack?: Layer[] } & ((...args: never[]) => unknown);
  route?: { path: string; methods: Record<string, boolean>; stack: Array<{ name: string; method?: string }> };
}

export interface RouteInfo {
  mount: string;
  path: string;
  methods: string[];
  handlers: string[];
  /** Position of the router in the application's own stack. */
  at: number;
}

function appStack(app: Express): Layer[] {
  return (app as unknown as { router: { stack: Layer[] } }).router.stack;
}

/**
 * collectRoutes reads the route table of a running application: every
 * route with its path, methods and the names of its handlers in order, and
 * where the CSRF middleware stands in the application's own stack.
 */
export function collectRoutes(app: Express): { routes: RouteInfo[]; csrfAt: number } {
  const stack = appStack(app);
  const csrfAt = stack.findIndex((l) => l.name === 'csrf');
  const routes: RouteInfo[] = [];
  const walk = (layers: Layer[], mount: string, at: number) => {
    for (const layer of layers) {
      if (layer.route) {
        routes.push({
          mount,
          path: mount + layer.route.path,
          methods: Object.keys(layer.route.methods).map((m) => m.toUpperCase()),
          handlers: layer.route.stack.map((h) => h.name),
          at,
        });
      } else if (layer.handle.stack) {
        walk(layer.handle.stack, mount + (layer.rawPath && layer.rawPath !== '/' ? layer.rawPath : ''), at);
      }
    }
  };
  stack.forEach((layer, i) => {
    if (layer.route) walk([layer], '', i);
    else if (layer.handle.stack) walk(layer.handle.stack, layer.rawPath && layer.rawPath !== '/' ? layer.rawPath : '', i);
  });
  return { routes, csrfAt };
}

/** concrete fills a route's parameters with values of the right shape. */
export function concrete(path: string): string {
  return path
    .replace(':owner', encodeURIComponent('nobody@example.test'))
    .replace(':folder', 'INBOX')
    .replace(':uid', '1')
    .replace(':index', '0')
    .replace(':id', '00000000-0000-4000-8000-000000000000');
}

