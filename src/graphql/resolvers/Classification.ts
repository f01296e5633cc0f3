import type { ClassificationResolvers } from '../../generated/graphql.js';

export const Classification: ClassificationResolvers = {
  services: (classification, _args, { load }) => load.classificationServices.load(classification.id),
};
