// The request's own credential, as the gateway sees it.
import type { ViewerResolvers } from '../../generated/graphql.js';

export const Viewer: ViewerResolvers = {
  roles: (principal) => [...principal.roles],
  serviceIds: (principal) => (principal.services === null ? null : [...principal.services].sort((a, b) => a - b)),
};
