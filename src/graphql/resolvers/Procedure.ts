import type { ProcedureResolvers } from '../../generated/graphql.js';

export const Procedure: ProcedureResolvers = {
  options: (procedure, _args, { load }) => load.procedureOptions.load(procedure.id),
};
