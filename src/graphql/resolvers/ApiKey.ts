// An API key's row differs from its GraphQL type in one field: an empty
// service list (every service) is shown as null, as for a principal.
import type { ApiKeyResolvers } from '../../generated/graphql.js';

export const ApiKey: ApiKeyResolvers = {
  serviceIds: (key) => (key.serviceIds.length === 0 ? null : key.serviceIds),
};
