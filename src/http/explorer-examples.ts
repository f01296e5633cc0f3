// The tabs the explorer opens with: ready-to-run examples of the calls an
// integrator makes first. test/explorer.test.ts runs them as they are against
// a new gateway, so they stay valid as the schema changes. Each names the
// roles it needs: a gateway that requires credentials takes them from the
// tab's Headers pane.

/** A GraphiQL tab: its operations and their variables (JSON). */
export interface ExampleTab {
  readonly query: string;
  readonly variables: string;
}

/**
 * The reference data the examples name. The "Example data" tab creates it;
 * on a new gateway the service gets id 1, which the other tabs use.
 */
export const EXAMPLE_DATA = {
  serviceId: 1,
  serviceName: 'Enrolments',
  serviceExtRef: 'ENROLMENTS',
  queueCode: 'E',
  classificationCode: 'GENERAL',
  procedureExtRef: 'ENROL',
  procedureOptionExtRef: 'NEW-STUDENT',
  /** The first case of a new gateway, as the agent and kiosk tabs name it. */
  caseId: 1,
  agent: 'desk-3',
} as const;

const json = (value: unknown): string => JSON.stringify(value, null, 2);

/** The seed's CaseEnqueue request (POST Cases), as `enqueueCase`. */
export const ENQUEUE_TAB: ExampleTab = {
  query: `# Case Enqueue for FIFO: the REST API's "POST Cases" (CaseEnqueue), in GraphQL.
#
# Credentials: a gateway that requires them wants one in the Headers pane
# below (each tab has its own): {"Authorization": "Bearer fcq_..."}; then
# re-fetch the schema (the sidebar's ↻ button). This tab needs KIOSK, AGENT
# or ADMIN. The Viewer tab shows what the gateway makes of a credential.
#
# The input has the seed's fields in camelCase (ServiceId -> serviceId,
# ServiceIdExtRef -> serviceIdExtRef, ...). Name the service by serviceId, by
# serviceIdExtRef, or both; customerId (optional) names an existing customer.
# CustomProperties, a dictionary in the seed, is a list of { key, value } pairs.
# The answer echoes the stored case with its new caseId, its ticket and its
# place in the queue, and the receipt with which a kiosk follows it.
#
# The variables name the rows the "Example data" tab creates. Run with the
# play button (or Ctrl-Enter).
mutation EnqueueCase($input: CaseEnqueueInput!) {
  enqueueCase(input: $input) {
    caseId
    receipt
    ticket
    status
    position
    estimatedWaitSeconds
    serviceId
    serviceIdExtRef
    customerId
    extRef
    subject
    notes
    classificationCode
    autoClose
    customProperties {
      key
      value
    }
    procedureExtRef
    procedureOptionExtRef
    enqueuedAt
  }
}
`,
  variables: json({
    input: {
      serviceIdExtRef: EXAMPLE_DATA.serviceExtRef,
      extRef: '+64 21 555 0123',
      subject: 'New student enrolment',
      notes: 'Brought a passport and proof of address.',
      classificationCode: EXAMPLE_DATA.classificationCode,
      autoClose: false,
      customProperties: [
        { key: 'language', value: 'en' },
        { key: 'channel', value: 'kiosk' },
      ],
      procedureExtRef: EXAMPLE_DATA.procedureExtRef,
      procedureOptionExtRef: EXAMPLE_DATA.procedureOptionExtRef,
    },
  }),
};

/** An agent's round: call the oldest waiting case, then complete it. */
export const AGENT_ROUND_TAB: ExampleTab = {
  query: `# An agent's round at a desk: take the oldest waiting case of your services,
# serve the person, then complete the case.
#
# 1. Run CallNext (the play button offers both operations): it hands you the
#    oldest waiting case of serviceIds, exactly once however many desks call,
#    or null when nobody waits.
# 2. Put that case's id into caseId in the variables, then run CompleteCase.
#
# Needs AGENT or ADMIN. agent names the desk (open gateway, API key); with a
# person's token leave it null: the token names the agent.
mutation CallNext($serviceIds: [Int!]!, $agent: String) {
  callNext(input: { serviceIds: $serviceIds, agent: $agent }) {
    id
    ticket
    status
    calledAt
    lastAgent
    subject
    service {
      id
      name
    }
  }
}

mutation CompleteCase($caseId: Int!, $agent: String) {
  completeCase(input: { caseId: $caseId, agent: $agent }) {
    id
    ticket
    status
    closedAt
    lastAgent
    history {
      action
      at
      agent
      fromStatus
      toStatus
    }
  }
}
`,
  variables: json({ serviceIds: [EXAMPLE_DATA.serviceId], agent: EXAMPLE_DATA.agent, caseId: EXAMPLE_DATA.caseId }),
};

/** A kiosk following the case of the ticket it printed. */
export const KIOSK_TAB: ExampleTab = {
  query: `# A kiosk following its ticket: the case's state at once, then an update
# whenever it changes and, while it waits, whenever its position or estimated
# wait moves as the cases ahead are served. It ends once the case is closed.
#
# Put the caseId and receipt that enqueueCase answered into the variables and
# run this; then call or complete the case in another tab and watch the
# updates arrive. A KIOSK credential must send the receipt; AGENT and ADMIN
# (and an open gateway) may leave it null.
# Subscriptions use a WebSocket (graphql-ws protocol) at this same URL; the
# Headers pane's Authorization goes in its connection_init message.
subscription FollowCase($caseId: Int!, $receipt: String) {
  caseChanged(caseId: $caseId, receipt: $receipt) {
    caseId
    ticket
    status
    position
    estimatedWaitSeconds
    lastAction
    lastAgent
    calledAt
    closedAt
    at
  }
}
`,
  variables: json({ caseId: EXAMPLE_DATA.caseId, receipt: null }),
};

/** Creates the reference data the other tabs name. */
export const EXAMPLE_DATA_TAB: ExampleTab = {
  query: `# The rows the other tabs name: a service, a classification and a
# procedure with one option. Run this once on a new gateway (a second run is
# refused with CONFLICT: they exist). On a gateway with data of its own, use
# its services' ids and references in the other tabs' variables instead.
# Needs ADMIN.
mutation CreateExampleData {
  createService(input: { name: "${EXAMPLE_DATA.serviceName}", extRef: "${EXAMPLE_DATA.serviceExtRef}", queueCode: "${EXAMPLE_DATA.queueCode}" }) {
    id
    name
    extRef
  }
  createClassification(input: { code: "${EXAMPLE_DATA.classificationCode}", name: "General enquiry" }) {
    code
    name
  }
  createProcedure(
    input: {
      extRef: "${EXAMPLE_DATA.procedureExtRef}"
      name: "Enrolment"
      options: [{ extRef: "${EXAMPLE_DATA.procedureOptionExtRef}", name: "New student" }]
    }
  ) {
    extRef
    options {
      extRef
    }
  }
}
`,
  variables: '',
};

/** Who the gateway takes the caller for: the way to check a credential. */
export const VIEWER_TAB: ExampleTab = {
  query: `# Who the gateway takes you for: run this to check a credential. Put it in
# this tab's Headers pane, as the other tabs take it:
#   {"Authorization": "Bearer fcq_..."}    an API key (npm run keys -- create)
#   {"Authorization": "Bearer eyJ..."}     a person's token (JWT)
# An open gateway (development) answers id "open" with every role; a missing
# or refused credential gets HTTP 401 (UNAUTHENTICATED), a role without the
# right FORBIDDEN.
query Viewer {
  viewer {
    id
    name
    roles
    serviceIds
    agent
  }
}
`,
  variables: '',
};

/** In the order the explorer shows them; the first is open on a first visit. */
export const EXAMPLE_TABS: readonly ExampleTab[] = [
  ENQUEUE_TAB,
  AGENT_ROUND_TAB,
  KIOSK_TAB,
  EXAMPLE_DATA_TAB,
  VIEWER_TAB,
];
