import type { MutationResolvers } from '../../../generated/graphql.js';
import { parseInput, caseActionRules } from '../../../queue/input-rules.js';
import { callCase as call } from '../../../queue/transitions.js';

export const callCase: NonNullable<MutationResolvers['callCase']> = (_parent, { input }, { db }) => call(db, parseInput(caseActionRules, input));
