import type { MutationResolvers } from '../../../generated/graphql.js';
import { enqueueCase as enqueue } from '../../../queue/enqueue-case.js';

export const enqueueCase: NonNullable<MutationResolvers['enqueueCase']> = (_parent, { input }, { db }) => enqueue(db, input);
