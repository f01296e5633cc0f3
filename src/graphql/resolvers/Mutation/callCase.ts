import type { MutationResolvers } from '../../../generated/graphql.js';
import { callCase as call } from '../../../queue/transitions.js';

export const callCase: NonNullable<MutationResolvers['callCase']> = (_parent, { input }, { db }) => call(db, input);
