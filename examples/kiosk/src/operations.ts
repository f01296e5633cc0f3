// The kiosk's two operations. GraphQL Code Generator reads them from here and
// types them in ./gql/ (`npm run generate`); each `graphql()` call returns a
// document whose result and variables types follow from its text.
import { graphql } from './gql/index.js';

/**
 * Takes a ticket: enqueues a case and answers where it stands, with the receipt that lets a kiosk
 * key follow that case (it could also be printed on the ticket as a QR code, for a phone).
 */
export const EnqueueCaseDocument = graphql(`
  mutation KioskEnqueueCase($input: CaseEnqueueInput!) {
    enqueueCase(input: $input) {
      caseId
      receipt
      ticket
      status
      position
      estimatedWaitSeconds
    }
  }
`);

/** Follows one case: its state at once, then after every change. A kiosk key must send the receipt. */
export const CaseChangedDocument = graphql(`
  subscription KioskCaseChanged($caseId: Int!, $receipt: String) {
    caseChanged(caseId: $caseId, receipt: $receipt) {
      caseId
      ticket
      status
      lastAgent
      position
      estimatedWaitSeconds
    }
  }
`);
