// A classification's services: to a credential limited to some services,
// only those of its limit (the others are not there to it).
import type { ClassificationResolvers } from '../../generated/graphql.js';
import { visibleServices } from '../../queue/actor-rules.js';

export const Classification: ClassificationResolvers = {
  services: async (classification, _args, { load, principal }) =>
    visibleServices(principal, await load.classificationServices.load(classification.id)),
};
