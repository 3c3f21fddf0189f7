/**
 * Which farm serves a request, which farms get a flush. Pure.
 */
import { splitHostPort, type Farm } from './farm.js';

/**
 * The first farm in file order whose `virtualhosts` match the Host (case-insensitive; a
 * virtualhost without `:port` matches any port). Undefined = 404.
 */
export function selectFarm(farms: readonly Farm[], hostHeader: string | undefined): Farm | undefined {
  if (!hostHeader) return undefined;
  const { host, port } = splitHostPort(hostHeader);
  for (const farm of farms) {
    for (const m of farm.hostMatchers) {
      if ((m.port === undefined || m.port === port) && m.host.test(host)) return farm;
    }
  }
  return undefined;
}

export interface FlushRoute {
  readonly farm: Farm;
  /** The `flushRoutes` glob that matched. */
  readonly glob: string;
}

/** Every farm whose `flushRoutes` match the routing key (a shared DAM path can reach several). */
export function routeFlush(farms: readonly Farm[], routingKey: string): FlushRoute[] {
  const out: FlushRoute[] = [];
  for (const farm of farms) {
    const glob = farm.flushRouteFor(routingKey);
    if (glob !== undefined) out.push({ farm, glob });
  }
  return out;
}
