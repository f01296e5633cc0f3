import type { MutationResolvers } from '../../../generated/graphql.js';
import { callNext as call } from '../../../queue/call-next.js';

export const callNext: NonNullable<MutationResolvers['callNext']> = (_parent, { input }, { db }) => call(db, input);
