// The kiosk's two operations. GraphQL Code Generator reads them from here and
// types them in ./gql/ (`npm run generate`); each `graphql()` call returns a
// document whose result and variables types follow from its text.
import { graphql } from './gql/index.js';

/** Takes a ticket: enqueues a case and answers where it stands. */
export const EnqueueCaseDocument = graphql(`
  mutation KioskEnqueueCase($input: CaseEnqueueInput!) {
    enqueueCase(input: $input) {
      caseId
      ticket
      status
      position
      estimatedWaitSeconds
    }
  }
`);

/** Follows one case: its state at once, then after every change. */
export const CaseChangedDocument = graphql(`
  subscription KioskCaseChanged($caseId: Int!) {
    caseChanged(caseId: $caseId) {
      caseId
      ticket
      status
      lastAgent
      position
      estimatedWaitSeconds
    }
  }
`);
