import type { MutationResolvers } from '../../../generated/graphql.js';
import { addProcedureOption as add } from '../../../queue/reference-data.js';

export const addProcedureOption: NonNullable<MutationResolvers['addProcedureOption']> = (
  _parent,
  { procedureExtRef, input },
  { db },
) => add(db, procedureExtRef, input);
